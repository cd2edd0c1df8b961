"""Queries of the public board: only through :mod:`civgrid.cases.public` (what the public sees)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from civgrid.board.schemas import MAX_PAGE, BadFilter, BoardQuery, FilterError
from civgrid.cases.models import Case
from civgrid.cases.public import PublicCase, public_cases, public_views
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category
from civgrid.db import keyset
from civgrid.grids.models import Grid
from civgrid.web.i18n import N_

OPEN_STATES = [s for s in CaseState if s.is_open]
CLOSED_STATES = [s for s in CaseState if not s.is_open]
STATUS_COLOURS = {"open": "#ef6c00", "closed": "#2e7d32"}
STATUS_LABELS = {"open": N_("In progress"), "closed": N_("Closed")}


@dataclass(frozen=True)
class BoardRow:
    case: PublicCase
    grid_name: str


# Counted no further: a view never counts every matching case of the history.
COUNT_CAP = 1000
NEWEST_FIRST = keyset.Keyset(
    "board", (keyset.Segment((Case.reported_at, Case.id), descending=True),)
)


@dataclass(frozen=True)
class BoardPage:
    """One page: by number (the first pages) or by cursor; ``total`` counted up to a cap."""

    query: BoardQuery
    rows: list[BoardRow]
    total: int
    more_than_total: bool = False  # more than ``total`` match (the count stopped at the cap)
    next_url: str | None = None
    previous_url: str | None = None

    @property
    def pages(self) -> int | None:
        """How many numbered pages there are; None when the count stopped at its cap."""
        if self.more_than_total:
            return None
        return max(1, -(-self.total // self.query.per_page))

    @property
    def numbered(self) -> bool:
        return not self.query.cursor


def check_known(db: Session, q: BoardQuery) -> None:
    """:class:`BadFilter` for a category or grid code that does not exist (one query each)."""
    errors: list[FilterError] = []
    if q.category:
        if db.scalar(select(Category.id).where(_category_is(q.category)).limit(1)) is None:
            errors.append(
                FilterError("category", N_("unknown category %(code)s"), {"code": q.category})
            )
    if q.grid and db.scalar(select(Grid.id).where(Grid.code == q.grid)) is None:
        errors.append(FilterError("grid", N_("unknown grid %(code)s"), {"code": q.grid}))
    if errors:
        raise BadFilter(errors)


def _category_is(code: str) -> ColumnElement[bool]:
    # A category code (M06001) or a major class (M06): the two never collide.
    return or_(Category.code == code, Category.major_code == code)


def filtered(q: BoardQuery) -> Select[Any]:
    """The board's cases narrowed by the query's filters (no order, no page)."""
    query = public_cases()
    if q.category:
        query = query.where(_category_is(q.category))
    if q.grid:
        query = query.where(Case.grid_code == q.grid)
    if q.status:
        query = query.where(Case.state.in_(OPEN_STATES if q.status == "open" else CLOSED_STATES))
    start, end = q.reported_range()
    if start is not None:
        query = query.where(Case.reported_at >= start)
    if end is not None:
        query = query.where(Case.reported_at < end)
    return query


def _newest(db: Session, q: BoardQuery, extra: int = 0) -> list[Case]:
    query = (
        filtered(q)
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page + extra)
    )
    return list(db.scalars(query))


def _cases(db: Session, q: BoardQuery) -> tuple[list[Case], str | None, str | None]:
    """The page's cases and the links to the pages after and before it.

    The first ``MAX_PAGE`` pages go by number; from the last of them on, "older" and "newer"
    follow cursors, which read only their own rows however deep into the history they are.
    """
    if q.cursor:
        page = NEWEST_FIRST.page(db, filtered(q), q.per_page, q.cursor)
        cases = [row[0] for row in page.rows]
        after = q.url(cursor=page.next) if page.next else None
        before = q.url(cursor=page.previous) if page.previous else None
        return cases, after, before
    cases = _newest(db, q, extra=1)
    more, cases = len(cases) > q.per_page, cases[: q.per_page]
    before = q.url(page=q.page - 1) if q.page > 1 else None
    if not more:
        return cases, None, before
    if q.page < MAX_PAGE:
        return cases, q.url(page=q.page + 1), before
    last = cases[-1]
    cursor = NEWEST_FIRST.cursor(keyset.Position(0, (last.reported_at, last.id)))
    return cases, q.url(cursor=cursor), before


def board_page(db: Session, q: BoardQuery) -> BoardPage:
    """One page of the board, newest first: a constant number of queries whatever its size."""
    check_known(db, q)
    # counted in the list's order: from the public index, reading COUNT_CAP rows at most
    newest = (
        filtered(q).with_only_columns(Case.id).order_by(Case.reported_at.desc(), Case.id.desc())
    )
    total, capped = keyset.capped_count(db, newest, COUNT_CAP)
    cases, after, before = _cases(db, q)
    views = public_views(db, cases)
    codes = {v.grid_code for v in views if v.grid_code}
    names: dict[str, str] = {}
    if codes:
        names = dict(db.execute(select(Grid.code, Grid.name).where(Grid.code.in_(codes))).all())
    rows = [BoardRow(v, names.get(v.grid_code or "", "")) for v in views]
    return BoardPage(q, rows, total, capped, after, before)


def category_classes(db: Session) -> list[tuple[str, str, str]]:
    """(code, zh, en) of the major classes the board can be filtered by (public ones only)."""
    rows = db.execute(
        select(Category.major_code, Category.major_name_zh, Category.major_name_en)
        .where(
            Category.is_active,
            Category.is_staff_complaint.is_(False),
            Category.is_private.is_(False),
        )
        .distinct()
        .order_by(Category.major_code)
    ).all()
    seen: dict[str, tuple[str, str, str]] = {}
    for code, zh, en in rows:
        seen.setdefault(code, (code, zh, en or zh))
    return list(seen.values())


def case_feature(view: PublicCase, locale: str) -> dict[str, Any]:
    """A board case as a GeoJSON point: number, status, category, colour, link; nothing personal."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [view.lon, view.lat]},
        "properties": {
            "number": view.number,
            "status": view.status,
            "category": view.category.name(locale),
            "colour": STATUS_COLOURS[view.status],
            "url": f"/portal/cases/{view.number}",
        },
    }


def board_geojson(db: Session, q: BoardQuery, locale: str) -> dict[str, Any]:
    """The newest ``q.per_page`` matching cases as a FeatureCollection (``truncated`` if more)."""
    check_known(db, q)
    views = public_views(db, _newest(db, q))
    more = db.scalar(filtered(q).with_only_columns(Case.id).offset(q.page * q.per_page).limit(1))
    return {
        "type": "FeatureCollection",
        "features": [case_feature(v, locale) for v in views],
        "truncated": more is not None,
    }
