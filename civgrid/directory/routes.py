"""Grid directory pages (no login): the list, a grid's card, outlines, "which grid am I in?"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from civgrid.db.session import get_page_db
from civgrid.directory import service
from civgrid.directory.schemas import LocateIn, LocateOut
from civgrid.notices.service import public_notices
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(get_page_db, scope="function")]


@router.get("/directory")
def directory(request: Request, db: DB, q: Annotated[str, Query(max_length=50)] = "") -> Response:
    """网格公示: every current grid by village, with leader and staff work contacts."""
    groups = service.directory(db, q)
    ctx = {"nav": "directory", "groups": groups, "q": q.strip()}
    return render(request, "directory/directory.html", ctx)


@router.get("/directory/grids.geojson")
def grids_geojson(
    db: DB, village: Annotated[str, Query(pattern=r"^\d{0,15}$")] = ""
) -> JSONResponse:
    """Public outlines of the current grids (code, name, kind), for the board and the directory."""
    return JSONResponse(service.grids_geojson(db, village))


@router.get("/directory/grids/{code}")
def grid_card(code: str, request: Request, db: DB) -> Response:
    """A grid's card: map, leader, staff, village, and the supervision channel (grid office)."""
    card = service.grid_card(db, code)
    ctx: dict[str, Any] = {"nav": "directory", "card": card, "grid": card.entry.grid}
    ctx["notices"] = public_notices(db, card.entry.grid.code, limit=5)
    return render(request, "directory/grid.html", ctx)


@router.post("/directory/locate", response_model=LocateOut)
def locate(point: LocateIn, db: DB) -> JSONResponse:
    """The grid at a point from the browser; 404 outside the service area.

    Scope boundary (no location tracking of residents): the point is only looked up, never
    logged or stored. It comes in the request body, not the URL, so that access logs (ours or a
    proxy's) do not record it either; and the answer is not cached.
    """
    grid = service.locate(db, point.lon, point.lat)
    out = LocateOut(code=grid.code, name=grid.name, url=f"/directory/grids/{grid.code}")
    return JSONResponse(out.model_dump(), headers={"Cache-Control": "no-store"})
