"""Queries of the grid directory: current grids, their staff's work contacts, the grid office.

Only staff appear here, with the work phone of their account; nothing about residents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civgrid.auth.models import Role, User
from civgrid.catalogue.service import staff_complaint_category, suggest_department
from civgrid.departments.models import Department
from civgrid.divisions.models import Division
from civgrid.errors import NotFound
from civgrid.grids.models import Grid
from civgrid.grids.service import locate_point

MAX_SEARCH = 100


@dataclass(frozen=True)
class StaffContact:
    """A staff member as the public sees them: display name, role and work phone only."""

    name: str
    role: Role
    work_phone: str | None


@dataclass(frozen=True)
class GridEntry:
    grid: Grid
    leader: StaffContact | None
    staff: list[StaffContact]

    @property
    def area_km2(self) -> float:
        return round(self.grid.area_m2 / 1e6, 2)


@dataclass(frozen=True)
class VillageGroup:
    code: str
    name: str
    grids: list[GridEntry] = field(default_factory=list)


@dataclass(frozen=True)
class GridCard:
    entry: GridEntry
    village: str
    township_code: str
    township: str
    office: Department | None


def _contacts(db: Session, grids: Sequence[Grid]) -> dict[int, StaffContact]:
    """Active staff accounts named on ``grids`` (leaders and members), by user id: one query."""
    ids = {g.leader_id for g in grids if g.leader_id} | {
        m.user_id for g in grids for m in g.members
    }
    if not ids:
        return {}
    rows = db.scalars(
        select(User).where(User.id.in_(ids), User.is_active, User.role != Role.RESIDENT)
    )
    return {u.id: StaffContact(u.display_name, u.role, u.work_phone) for u in rows}


def _entries(db: Session, grids: Sequence[Grid]) -> list[GridEntry]:
    people = _contacts(db, grids)
    entries = []
    for g in grids:
        staff = [
            people[m.user_id]
            for m in sorted(g.members, key=lambda m: m.user_id)
            if m.user_id in people and m.user_id != g.leader_id
        ]
        entries.append(GridEntry(g, people.get(g.leader_id or 0), staff))
    return entries


def _names(db: Session, codes: Iterable[str]) -> dict[str, str]:
    codes = set(codes)
    if not codes:
        return {}
    return dict(
        db.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).all()
    )


def directory(db: Session, q: str = "") -> list[VillageGroup]:
    """Current grids grouped by village, optionally those whose name or code matches ``q``.

    A constant number of queries: grids, their members, the staff, the village names.
    """
    query = select(Grid).where(Grid.valid_to.is_(None)).order_by(Grid.code)
    q = q.strip()
    if q:
        query = query.where(
            or_(Grid.name.contains(q, autoescape=True), Grid.code.startswith(q, autoescape=True))
        ).limit(MAX_SEARCH)
    entries = _entries(db, db.scalars(query).all())
    names = _names(db, {e.grid.village_code for e in entries})
    groups: dict[str, VillageGroup] = {}
    for e in entries:
        code = e.grid.village_code
        groups.setdefault(code, VillageGroup(code, names.get(code, code))).grids.append(e)
    return list(groups.values())


def get_current_grid(db: Session, code: str) -> Grid:
    grid = db.scalar(select(Grid).where(Grid.code == code, Grid.valid_to.is_(None)))
    if grid is None:
        raise NotFound(f"grid {code} not found")
    return grid


def grid_office(db: Session, grid: Grid) -> Department | None:
    """The township grid office: where complaints about this grid's staff are routed."""
    category = staff_complaint_category(db)  # its routing names the township grid office
    if category is None:
        return None
    return suggest_department(db, category, grid.village_code)


def grid_card(db: Session, code: str) -> GridCard:
    """One current grid with its staff, village, township and grid office (404 if unknown)."""
    grid = get_current_grid(db, code)
    township = grid.village_code[:9]
    names = _names(db, {grid.village_code, township})
    return GridCard(
        entry=_entries(db, [grid])[0],
        village=names.get(grid.village_code, grid.village_code),
        township_code=township,
        township=names.get(township, township),
        office=grid_office(db, grid),
    )


def grids_geojson(db: Session, village: str = "") -> dict[str, Any]:
    """Outlines of current grids (code, name, kind, link) as a FeatureCollection."""
    query = select(Grid.code, Grid.name, Grid.kind, Grid.geometry).where(Grid.valid_to.is_(None))
    if village:
        query = query.where(Grid.code.startswith(village, autoescape=True))
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(geometry),
            "properties": {
                "code": code,
                "name": name,
                "kind": kind.value,
                "url": f"/directory/grids/{code}",
            },
        }
        for code, name, kind, geometry in db.execute(query.order_by(Grid.code))
    ]
    return {"type": "FeatureCollection", "features": features}


def locate(db: Session, lon: float, lat: float) -> Grid:
    """The current grid at a WGS84 point (404 outside every grid of the service area)."""
    found = locate_point(db, lon, lat)
    if found is None:
        raise NotFound("this point is not inside any grid of the service area")
    return get_current_grid(db, found.grid_code)
