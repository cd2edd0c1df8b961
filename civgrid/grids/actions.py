"""State changes of the territory: create, adjust (调整) and retire grids, each filed as a version.

Every action checks the actor's role and jurisdiction, writes a ``GridVersion`` row (the
filing record: who, when, why) and an audit event, and commits once. ``actor=None`` is the
system itself (the demo loader, the command line run by an operator).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.divisions.models import Division, DivisionLevel
from civgrid.errors import Conflict, Invalid, NotFound
from civgrid.grids.codes import assign_codes, grid_code, is_grid_code
from civgrid.grids.geo import area_m2, from_text, shape_columns
from civgrid.grids.models import (
    Grid,
    GridKind,
    GridMember,
    GridVersion,
    NeighbourhoodUnit,
    OverlayArea,
    OverlayCoverage,
    VersionReason,
)

# The attributes an adjustment may change (the code changes only by renumbering).
ADJUSTABLE = {"name", "kind", "households", "population", "leader_id", "geometry", "parent_id"}


def _today() -> date:
    return utcnow().astimezone(get_settings().tz).date()


def authorise(actor: User | None, code: str) -> None:
    """Admins of the territory only; outside the actor's territory looks like missing (404)."""
    if actor is None:
        return
    scope.check_role(actor, Grid, "change")
    if not scope.Jurisdiction.of(actor).covers_code(code):
        raise NotFound(f"{code} not found")


def polygon(geom: BaseGeometry, what: str) -> BaseGeometry:
    """``geom`` if it is a valid, non-empty (multi)polygon; a clear error otherwise."""
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise Invalid(f"{what}: geometry must be a non-empty polygon, got {geom.geom_type}")
    if not geom.is_valid:
        raise Invalid(f"{what}: invalid polygon ({shapely.is_valid_reason(geom)})")
    return geom


def _village(db: Session, code: str) -> Division:
    village = db.get(Division, code)
    if village is None or village.level != DivisionLevel.VILLAGE or village.valid_to:
        raise Invalid(f"unknown village code {code}", field="village_code")
    return village


def _file_version(
    db: Session, grid: Grid, reason: VersionReason, actor: User | None, note: str
) -> GridVersion:
    version = GridVersion(
        grid_id=grid.id,
        version=grid.version,
        reason=reason,
        code=grid.code,
        name=grid.name,
        kind=grid.kind,
        level=grid.level,
        parent_id=grid.parent_id,
        village_code=grid.village_code,
        households=grid.households,
        population=grid.population,
        leader_id=grid.leader_id,
        valid_from=grid.valid_from,
        valid_to=grid.valid_to,
        note=note,
        filed_by_id=actor.id if actor else None,
        geometry=grid.geometry,
        min_lon=grid.min_lon,
        min_lat=grid.min_lat,
        max_lon=grid.max_lon,
        max_lat=grid.max_lat,
    )
    db.add(version)
    return version


def _next_code(db: Session, village_code: str) -> str:
    digits = get_settings().grid_sequence_digits
    codes = db.scalars(select(Grid.code).where(Grid.village_code == village_code)).all()
    used = [int(c[12:]) for c in codes if len(c) == 12 + digits]
    return grid_code(village_code, max(used, default=0) + 1, digits)


@dataclass
class GridDraft:
    """What a new grid needs; ``code`` empty means the next free sequence of the village."""

    village_code: str
    geometry: BaseGeometry
    name: str
    households: int = 0
    population: int = 0
    kind: GridKind = GridKind.COMPREHENSIVE
    level: int = 1
    code: str = ""
    parent_code: str = ""
    leader_id: int | None = None


def add_grid(
    db: Session,
    draft: GridDraft,
    *,
    actor: User | None,
    reason: VersionReason = VersionReason.CREATED,
    note: str = "",
    valid_from: date | None = None,
) -> Grid:
    """Add one grid and its first filed version to the session (no commit: see create_grid)."""
    authorise(actor, draft.village_code)
    _village(db, draft.village_code)
    geom = polygon(draft.geometry, draft.code or draft.name)
    digits = get_settings().grid_sequence_digits
    code = draft.code or _next_code(db, draft.village_code)
    if not is_grid_code(code, digits) or not code.startswith(draft.village_code):
        raise Invalid(f"grid code {code} is not {draft.village_code} + {digits} digits")
    if db.scalar(select(Grid.id).where(Grid.code == code)) is not None:
        raise Conflict(f"grid code {code} already exists", code_taken=code)
    if draft.households < 0 or draft.population < 0:
        raise Invalid(f"{code}: household and population counts cannot be negative")
    parent_id = _parent(db, draft) if draft.level == 2 else None
    grid = Grid(
        code=code,
        name=draft.name,
        kind=draft.kind,
        level=draft.level,
        parent_id=parent_id,
        village_code=draft.village_code,
        households=draft.households,
        population=draft.population,
        leader_id=draft.leader_id,
        area_m2=area_m2(geom),
        valid_from=valid_from or _today(),
        version=1,
        **shape_columns(geom),
    )
    db.add(grid)
    db.flush()
    _file_version(db, grid, reason, actor, note)
    _map_grid(db, grid, geom)
    return grid


def _parent(db: Session, draft: GridDraft) -> int:
    parent = db.scalar(select(Grid).where(Grid.code == draft.parent_code))
    if parent is None or parent.level != 1 or parent.village_code != draft.village_code:
        raise Invalid(
            f"a second-level grid needs a first-level parent in village {draft.village_code}"
        )
    return parent.id


def create_grid(db: Session, draft: GridDraft, *, actor: User | None, note: str = "") -> Grid:
    """Create a grid (新建网格) and file its first version."""
    grid = add_grid(db, draft, actor=actor, note=note)
    record(db, "grid.create", actor=actor, object_type="grid", object_id=grid.code)
    db.commit()
    return grid


def adjust_grid(
    db: Session,
    grid: Grid,
    *,
    actor: User | None,
    note: str,
    valid_from: date | None = None,
    commit: bool = True,
    **changes: Any,
) -> Grid:
    """Adjust a grid (网格调整): change attributes or geometry and file the new version.

    ``commit=False`` leaves the commit to a caller that files several changes at once."""
    authorise(actor, grid.code)
    unknown = set(changes) - ADJUSTABLE
    if unknown:
        raise Invalid(f"cannot adjust {', '.join(sorted(unknown))} of a grid")
    if grid.valid_to is not None:
        raise Conflict(f"grid {grid.code} is retired")
    if not note.strip():
        raise Invalid("an adjustment needs a note saying why", field="note")
    changed = sorted(changes)
    if "geometry" in changes:
        geom = polygon(changes.pop("geometry"), grid.code)
        for k, v in shape_columns(geom).items():
            setattr(grid, k, v)
        grid.area_m2 = area_m2(geom)
        _map_grid(db, grid, geom)
    for k, v in changes.items():
        setattr(grid, k, GridKind(v) if k == "kind" else v)
    if grid.households < 0 or grid.population < 0:
        raise Invalid(f"{grid.code}: household and population counts cannot be negative")
    grid.version += 1
    grid.valid_from = valid_from or _today()
    grid.updated_at = _now()
    _file_version(db, grid, VersionReason.ADJUSTED, actor, note)
    detail = {"version": grid.version, "changed": changed}
    record(db, "grid.adjust", actor=actor, object_type="grid", object_id=grid.code, detail=detail)
    if commit:
        db.commit()
    return grid


def _now() -> datetime:
    return utcnow()


def retire_grid(
    db: Session,
    grid: Grid,
    *,
    actor: User | None,
    note: str,
    on: date | None = None,
    commit: bool = True,
) -> Grid:
    """Retire (撤销) a grid from a date on; its versions stay on file (``commit``: as above)."""
    authorise(actor, grid.code)
    if grid.valid_to is not None:
        raise Conflict(f"grid {grid.code} is already retired")
    grid.valid_to = on or _today()
    grid.version += 1
    grid.updated_at = _now()
    _file_version(db, grid, VersionReason.RETIRED, actor, note)
    record(db, "grid.retire", actor=actor, object_type="grid", object_id=grid.code)
    if commit:
        db.commit()
    return grid


def set_grid_members(
    db: Session, grid: Grid, *, user_ids: Iterable[int], actor: User | None
) -> Grid:
    """Replace the staff members of a grid."""
    authorise(actor, grid.code)
    wanted = sorted(set(user_ids))
    known = set(db.scalars(select(User.id).where(User.id.in_(wanted))))
    if missing := [u for u in wanted if u not in known]:
        raise Invalid(f"unknown users {missing}")
    grid.members = [GridMember(grid_id=grid.id, user_id=u) for u in wanted]
    record(
        db,
        "grid.members",
        actor=actor,
        object_type="grid",
        object_id=grid.code,
        detail={"members": wanted},
    )
    db.commit()
    return grid


def create_neighbourhood_unit(
    db: Session,
    grid: Grid,
    *,
    name: str,
    households: int,
    contact_id: int | None = None,
    actor: User | None,
) -> NeighbourhoodUnit:
    """Create a neighbourhood unit (联户单元) of 10–50 households inside a grid."""
    authorise(actor, grid.code)
    if not 10 <= households <= 50:
        raise Invalid(f"a neighbourhood unit has 10–50 households, not {households}")
    if db.scalar(
        select(NeighbourhoodUnit.id).where(
            NeighbourhoodUnit.grid_id == grid.id, NeighbourhoodUnit.name == name
        )
    ):
        raise Conflict(f"grid {grid.code} already has a unit named {name}")
    unit = NeighbourhoodUnit(
        grid_id=grid.id, name=name, households=households, contact_id=contact_id
    )
    db.add(unit)
    db.flush()
    record(db, "grid.unit.create", actor=actor, object_type="neighbourhood_unit", object_id=unit.id)
    db.commit()
    return unit


def renumber_village(db: Session, village_code: str, *, actor: User | None) -> dict[str, str]:
    """Renumber a village's first-level grids by the row rule (see ``codes``); old → new code."""
    authorise(actor, village_code)
    grids = [
        g
        for g in db.scalars(
            select(Grid).where(Grid.village_code == village_code, Grid.valid_to.is_(None))
        )
        if g.level == 1
    ]
    codes = assign_codes(
        village_code, [from_text(g.geometry) for g in grids], get_settings().grid_sequence_digits
    )
    changed = {g.code: c for g, c in zip(grids, codes, strict=True) if g.code != c}
    for g in grids:  # two passes so that swapped codes never collide on the unique index
        if g.code in changed:
            g.code = f"T{g.id}"
    db.flush()
    for g, c in zip(grids, codes, strict=True):
        if g.code.startswith("T"):
            g.code = c
            g.version += 1
            g.updated_at = _now()
            _file_version(db, g, VersionReason.ADJUSTED, actor, "renumbered (rows north→south)")
    record(
        db,
        "grid.renumber",
        actor=actor,
        object_type="division",
        object_id=village_code,
        detail={"changed": changed},
    )
    db.commit()
    return changed


def _map_grid(db: Session, grid: Grid, geom: BaseGeometry) -> None:
    """Recompute the overlay coverage fractions of one grid (after it was added or reshaped)."""
    db.execute(delete(OverlayCoverage).where(OverlayCoverage.grid_id == grid.id))
    x0, y0, x1, y1 = geom.bounds
    areas = db.scalars(
        select(OverlayArea).where(
            OverlayArea.max_lon >= x0,
            OverlayArea.min_lon <= x1,
            OverlayArea.max_lat >= y0,
            OverlayArea.min_lat <= y1,
        )
    )
    for area in areas:
        share = from_text(area.geometry).intersection(geom).area / geom.area if geom.area else 0.0
        if share > 1e-6:
            db.add(OverlayCoverage(area_id=area.id, grid_id=grid.id, fraction=min(share, 1.0)))
