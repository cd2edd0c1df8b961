"""Queries over the division tree."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role
from civgrid.divisions.models import CODE_LENGTHS, Division, DivisionLevel
from civgrid.errors import NotFound

# Division codes and names are public statistical data: anyone may read them.
scope.register(Division, roles={"view": set(Role)}, public={"view"})


def get_division(db: Session, code: str) -> Division:
    division = db.get(Division, code)
    if division is None:
        raise NotFound(f"division {code} not found")
    return division


def children(db: Session, code: str, *, include_closed: bool = False) -> Sequence[Division]:
    """The direct children of a division, ordered by code."""
    query = select(Division).where(Division.parent_code == code).order_by(Division.code)
    if not include_closed:
        query = query.where(Division.valid_to.is_(None))
    return db.scalars(query).all()


def ancestor_codes(code: str) -> list[str]:
    """Codes of the levels above ``code``, top-down (codes are nested prefixes)."""
    return [code[:n] for n in CODE_LENGTHS.values() if n < len(code)]


def ancestors(db: Session, code: str) -> list[Division]:
    """The chain from the province down to (not including) ``code``."""
    codes = ancestor_codes(code)
    found = {d.code: d for d in db.scalars(select(Division).where(Division.code.in_(codes)))}
    return [found[c] for c in codes if c in found]


def search(
    db: Session,
    q: str,
    *,
    within: str = "",
    level: DivisionLevel | None = None,
    include_closed: bool = False,
    limit: int = 50,
) -> Sequence[Division]:
    """Divisions whose name contains ``q``, optionally under a code and at one level."""
    query = select(Division).where(Division.name.contains(q, autoescape=True))
    if within:
        query = query.where(Division.code.startswith(within, autoescape=True))
    if level:
        query = query.where(Division.level == level)
    if not include_closed:
        query = query.where(Division.valid_to.is_(None))
    return db.scalars(query.order_by(Division.depth, Division.code).limit(limit)).all()
