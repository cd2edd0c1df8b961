"""Division API: public, read-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from civgrid.db.session import get_db
from civgrid.divisions import service
from civgrid.divisions.models import Division, DivisionLevel
from civgrid.divisions.schemas import DivisionDetail, DivisionOut
from civgrid.web.responses import AUTHENTICATED

api = APIRouter(prefix="/api/v1/divisions", tags=["divisions"], responses=AUTHENTICATED)


@api.get("", response_model=list[DivisionOut])
def search_divisions(
    db: Annotated[Session, Depends(get_db)],
    q: Annotated[str, Query(min_length=1, max_length=50, description="part of the name")],
    within: Annotated[str, Query(pattern=r"^\d{0,12}$")] = "",
    level: DivisionLevel | None = None,
    include_closed: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[Division]:
    """Search divisions by name, optionally under a code and at one level."""
    return list(
        service.search(
            db, q, within=within, level=level, include_closed=include_closed, limit=limit
        )
    )


@api.get("/{code}", response_model=DivisionDetail)
def get_division(
    code: str, db: Annotated[Session, Depends(get_db)], include_closed: bool = False
) -> DivisionDetail:
    """One division with its ancestors (top-down) and its children."""
    division = service.get_division(db, code)
    return DivisionDetail(
        **DivisionOut.model_validate(division).model_dump(),
        ancestors=[DivisionOut.model_validate(d) for d in service.ancestors(db, code)],
        children=[
            DivisionOut.model_validate(d)
            for d in service.children(db, code, include_closed=include_closed)
        ],
    )


@api.get("/{code}/children", response_model=list[DivisionOut])
def get_children(
    code: str, db: Annotated[Session, Depends(get_db)], include_closed: bool = False
) -> list[Division]:
    service.get_division(db, code)
    return list(service.children(db, code, include_closed=include_closed))


@api.get("/{code}/ancestors", response_model=list[DivisionOut])
def get_ancestors(code: str, db: Annotated[Session, Depends(get_db)]) -> list[Division]:
    service.get_division(db, code)
    return service.ancestors(db, code)
