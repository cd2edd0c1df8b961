"""The grid book (网格台账册): an A4 PDF per grid for field use (WeasyPrint, Chinese fonts).

Cover, the grid's map with its places (server-side SVG, no tile server), staff and work
phones, dwellings and household totals, units with licence and inspection status,
components, open cases, the inspection schedule for the coming month, photos of components and
of the latest inspections (``book_photos``), pages for notes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shapely.geometry import LineString, Polygon
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases.models import Case
from civgrid.cases.transitions import OPEN
from civgrid.catalogue.models import Category
from civgrid.config import get_settings
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid
from civgrid.inspections.models import ChecklistTemplate, InspectionRecord
from civgrid.inspections.service import due_inspections
from civgrid.ledger.book_photos import book_photos
from civgrid.ledger.models import Building, Component, Dwelling, LedgerKind, Unit
from civgrid.ledger.schemas import component_classes
from civgrid.web.templating import environment

MAP_SIZE = 600.0  # SVG user units across the longer side
NOTE_PAGES = 2


@dataclass(frozen=True)
class SvgMap:
    """The grid outline and its places as SVG paths and points, north up."""

    width: float
    height: float
    outline: str
    dwellings: list[tuple[float, float]]
    units: list[tuple[float, float, str]]
    components: list[tuple[float, float]]
    scale_m: int
    scale_px: float
    footprints: str = ""  # the buildings' footprints, one SVG path
    lines: str = ""  # the components' lines, one SVG path


def _projector(grid_shape: Any) -> tuple[Any, float, float, float]:
    x0, y0, x1, y1 = grid_shape.bounds
    kx = math.cos(math.radians((y0 + y1) / 2))
    w, h = max((x1 - x0) * kx, 1e-9), max(y1 - y0, 1e-9)
    s = MAP_SIZE / max(w, h)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - x0) * kx * s, 1), round((y1 - lat) * s, 1)

    return project, w * s, h * s, s


def grid_map(db: Session, grid: Grid) -> SvgMap:
    """The grid and its current places, projected to a local plane."""
    shape = from_text(grid.geometry)
    project, width, height, s = _projector(shape)

    def points(model: Any, *extra: Any) -> list[Any]:
        rows = db.execute(
            select(model.lon, model.lat, *extra).where(
                model.grid_code == grid.code, model.retired_at.is_(None)
            )
        )
        return [(*project(r[0], r[1]), *r[2:]) for r in rows]

    metres_per_unit = 111_320 / s  # one SVG unit in metres (degrees of latitude)
    scale_m = _nice(metres_per_unit * MAP_SIZE / 4)
    return SvgMap(
        width=round(width, 1),
        height=round(height, 1),
        outline=svg_path(shape, project),
        dwellings=points(Dwelling),
        units=points(Unit, Unit.name),
        components=points(Component),
        scale_m=scale_m,
        scale_px=round(scale_m / metres_per_unit, 1),
        footprints=svg_paths(kept(db, Building.footprint, grid), project),
        lines=svg_paths(kept(db, Component.shape, grid), project),
    )


def kept(db: Session, column: Any, grid: Grid) -> list[str]:
    """The footprints or lines (GeoJSON text) of a grid's current records that have one."""
    model = column.class_
    return list(
        db.scalars(
            select(column).where(
                model.grid_code == grid.code, model.retired_at.is_(None), column.is_not(None)
            )
        )
    )


def svg_paths(texts: list[str], project: Any) -> str:
    return " ".join(svg_path(from_text(t), project) for t in texts)


def svg_path(geom: Any, project: Any) -> str:
    """An SVG path of polygons (closed rings) or lines, projected to the map's plane."""
    parts = []
    for part in getattr(geom, "geoms", [geom]):
        if isinstance(part, Polygon):
            for ring in (part.exterior, *part.interiors):
                pts = [project(x, y) for x, y in ring.coords]
                parts.append("M" + " L".join(f"{x},{y}" for x, y in pts) + " Z")
        elif isinstance(part, LineString):
            pts = [project(x, y) for x, y in part.coords]
            parts.append("M" + " L".join(f"{x},{y}" for x, y in pts))
    return " ".join(parts)


def _nice(metres: float) -> int:
    for step in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if step >= metres * 0.5:
            return step
    return 10_000


def book_context(
    db: Session, grid: Grid, *, today: date, user: User | None = None
) -> dict[str, Any]:
    """Everything the grid book prints, read once."""
    staff_ids = [m.user_id for m in grid.members]
    leader = db.get(User, grid.leader_id) if grid.leader_id else None
    staff = db.scalars(select(User).where(User.id.in_(staff_ids)).order_by(User.display_name)).all()
    dwellings = db.scalars(
        select(Dwelling)
        .where(Dwelling.grid_code == grid.code, Dwelling.retired_at.is_(None))
        .order_by(Dwelling.address)
    ).all()
    units = db.scalars(
        select(Unit)
        .where(Unit.grid_code == grid.code, Unit.retired_at.is_(None))
        .order_by(Unit.kind, Unit.name)
    ).all()
    last = _last_inspections(db, LedgerKind.UNITS, [u.id for u in units])
    classes = component_classes()
    components = Counter(
        (code, str(state))
        for code, state in db.execute(
            select(Component.class_code, Component.state).where(
                Component.grid_code == grid.code, Component.retired_at.is_(None)
            )
        )
    )
    cases = db.execute(
        select(
            Case.number, Case.state, Case.address, Case.reported_at, Case.due_at, Category.name_zh
        )
        .join(Category, Category.id == Case.category_id)
        .where(Case.grid_code == grid.code, Case.state.in_(list(OPEN)))
        .order_by(Case.reported_at)
    ).all()
    schedule = due_inspections(db, user, today=today, territory=grid.code, horizon_days=31)
    templates = {t.id: t for t in db.scalars(select(ChecklistTemplate))}
    tz = get_settings().tz
    return {
        "grid": grid,
        "today": today,
        "leader": leader,
        "staff": staff,
        "map": grid_map(db, grid),
        "dwellings": dwellings,
        "households": sum(d.households for d in dwellings),
        "rental": sum(1 for d in dwellings if d.is_rental),
        "vacant": sum(1 for d in dwellings if d.is_vacant),
        "units": units,
        "last": last,
        "components": sorted(
            ((code, classes.get(code, code), state, n) for (code, state), n in components.items())
        ),
        "component_total": sum(components.values()),
        "cases": cases,
        "schedule": schedule,
        "templates": templates,
        "note_pages": range(NOTE_PAGES),
        "tz": tz,
    } | book_photos(db, grid, tz)


def _last_inspections(
    db: Session, kind: LedgerKind, ids: list[int]
) -> dict[int, tuple[datetime, int]]:
    """Target id → (when last inspected, failed items then)."""
    if not ids:
        return {}
    latest = (
        select(InspectionRecord.target_id, func.max(InspectionRecord.inspected_at).label("at"))
        .where(InspectionRecord.target_kind == kind, InspectionRecord.target_id.in_(ids))
        .group_by(InspectionRecord.target_id)
        .subquery()
    )
    rows = db.execute(
        select(InspectionRecord.target_id, InspectionRecord.inspected_at, InspectionRecord.failed)
        .join(
            latest,
            (latest.c.target_id == InspectionRecord.target_id)
            & (latest.c.at == InspectionRecord.inspected_at),
        )
        .where(InspectionRecord.target_kind == kind)
    )
    return {tid: (at, failed) for tid, at, failed in rows}


def book_html(db: Session, grid: Grid, *, today: date, user: User | None = None) -> str:
    """The book as HTML (what WeasyPrint lays out)."""
    ctx = book_context(db, grid, today=today, user=user)
    return environment().get_template("ledger/book.html").render(ctx | {"locale": "zh_CN"})


def build_book(db: Session, grid: Grid, *, today: date, user: User | None = None) -> bytes:
    """The grid book as A4 PDF bytes."""
    from civgrid.web.pdf import html_to_pdf

    return html_to_pdf(book_html(db, grid, today=today, user=user))
