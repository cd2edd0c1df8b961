"""Public board pages (no login): the list with filters, and the same cases as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from civgrid.board import service
from civgrid.board.schemas import BadFilter, BoardQuery, FilterError, parse_query
from civgrid.db import keyset
from civgrid.db.session import get_read_page_db
from civgrid.web.i18n import request_locale
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)
# Public and replica-tolerant: read from the read replica when there is one.
DB = Annotated[Session, Depends(get_read_page_db, scope="function")]


@router.get("/board")
def board(request: Request, db: DB) -> Response:
    """办理公示: registered cases, newest first, with status, public outcome and photos."""
    ctx: dict[str, Any] = {
        "nav": "board",
        "classes": service.category_classes(db),
        "form": request.query_params,
        "status_labels": service.STATUS_LABELS,
        "colours": service.STATUS_COLOURS,
    }
    try:
        query = parse_query(request.query_params)
        ctx["result"] = service.board_page(db, query)
    except BadFilter as exc:
        ctx.update(errors=exc.errors, result=None, query=BoardQuery())
        return render(request, "board/board.html", ctx, status_code=exc.status_code)
    except keyset.BadCursor as exc:
        ctx.update(errors=[FilterError("cursor", exc.template)], result=None, query=BoardQuery())
        return render(request, "board/board.html", ctx, status_code=exc.status_code)
    ctx["query"] = query
    return render(request, "board/board.html", ctx)


@router.get("/board/cases.geojson")
def cases_geojson(request: Request, db: DB) -> JSONResponse:
    """The board's cases as GeoJSON points, with the same filters (422 with each bad value)."""
    query = parse_query(request.query_params, map_size=True)
    return JSONResponse(service.board_geojson(db, query, request_locale(request)))
