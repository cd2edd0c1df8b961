"""Queries over grids: lists, history, the point locator and the division checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely import union_all
from shapely.geometry.base import BaseGeometry
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.config import get_settings
from civgrid.db.session import database_key
from civgrid.divisions.service import ancestor_codes
from civgrid.grids.checks import GridShape, ProtectedSite, VillageReport, check_village
from civgrid.grids.geo import from_text
from civgrid.grids.locator import OUTSIDE, PolygonIndex
from civgrid.grids.models import (
    DivisionBoundary,
    FeatureKind,
    Grid,
    GridVersion,
    NeighbourhoodUnit,
    OverlayArea,
    OverlayLayer,
    TerritoryFeature,
)

# Staff see the grids of their territory (code prefix); only administrators change them.
scope.register(
    Grid,
    roles={"view": scope.STAFF, "change": {Role.ADMIN}},
    condition=scope.by_code_prefix(Grid.code),
)
scope.register(OverlayLayer, roles={"view": scope.STAFF, "change": {Role.ADMIN}}, condition=None)

OUTSIDE_SERVICE_AREA = "outside the service area"


def current_grids(db: Session, user: User | None = None, *, village: str = "") -> Sequence[Grid]:
    """Current grids (not retired), by code; restricted to ``user``'s territory if given."""
    query = select(Grid).where(Grid.valid_to.is_(None)).order_by(Grid.code)
    if village:
        query = query.where(Grid.code.startswith(village, autoescape=True))
    if user is not None:
        query = scope.restrict(query, user, "view")
    return db.scalars(query).all()


def grid_history(db: Session, grid: Grid) -> Sequence[GridVersion]:
    """Every filed version of a grid, oldest first."""
    return db.scalars(
        select(GridVersion).where(GridVersion.grid_id == grid.id).order_by(GridVersion.version)
    ).all()


def neighbourhood_units(db: Session, grid: Grid) -> Sequence[NeighbourhoodUnit]:
    """The current (not retired) neighbourhood units of a grid, by name."""
    return db.scalars(
        select(NeighbourhoodUnit)
        .where(NeighbourhoodUnit.grid_id == grid.id, NeighbourhoodUnit.retired_at.is_(None))
        .order_by(NeighbourhoodUnit.name)
    ).all()


def village_codes_with_grids(db: Session, prefix: str = "") -> list[str]:
    """Villages that have current grids, optionally under a division code."""
    query = select(Grid.village_code).where(Grid.valid_to.is_(None)).distinct()
    if prefix:
        query = query.where(Grid.village_code.startswith(prefix, autoescape=True))
    return sorted(db.scalars(query))


# --- the locator -------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a point lies: its grid, the division chain down to the village, overlay areas."""

    grid_id: int
    grid_code: str
    grid_name: str
    village_code: str
    division_codes: list[str]
    overlays: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inside": True,
            "grid_id": self.grid_id,
            "grid_code": self.grid_code,
            "grid_name": self.grid_name,
            "village_code": self.village_code,
            "division_codes": self.division_codes,
            "overlays": [
                {"layer": layer, "code": code, "name": name} for layer, code, name in self.overlays
            ],
        }


@dataclass
class _LayerIndex:
    code: str
    areas: list[tuple[str, str]]  # (area code, area name), in index order
    index: PolygonIndex


@dataclass
class TerritoryIndex:
    """The in-memory locator for the current grids and overlay areas of one database."""

    fingerprint: tuple[Any, ...]
    grids: list[tuple[int, str, str, str]]  # (id, code, name, village code), in index order
    index: PolygonIndex
    layers: list[_LayerIndex]

    def grid_positions(self, lons: Any, lats: Any) -> np.ndarray:
        """Index positions into ``grids`` for each point (-1 outside every grid)."""
        return self.index.locate(lons, lats)

    def location(self, pos: int, overlays: list[tuple[str, str, str]]) -> Location | None:
        if pos == OUTSIDE:
            return None
        gid, code, name, village = self.grids[pos]
        chain = [*ancestor_codes(village), village]
        return Location(gid, code, name, village, chain, overlays)


@dataclass
class _Cached:
    index: TerritoryIndex
    checked_at: float  # time.monotonic() of the last fingerprint check


# A change made through this process's sessions reaches the locator at once (see the session
# events below); one made by another process (a second worker, the CLI) within this many seconds.
INDEX_RECHECK_S = 2.0
_INDEXES: dict[str, _Cached] = {}
_LOCK = threading.Lock()  # held by the thread building a locator
_CHECKING = threading.Lock()  # held by the thread checking a locator's fingerprint


def _fingerprint(db: Session) -> tuple[Any, ...]:
    """Changes whenever a grid or an overlay area is added, adjusted or retired (one query)."""
    current = Grid.valid_to.is_(None)
    return tuple(
        db.execute(
            select(
                select(func.count(Grid.id)).where(current).scalar_subquery(),
                select(func.max(Grid.updated_at)).where(current).scalar_subquery(),
                select(func.sum(Grid.version)).where(current).scalar_subquery(),
                select(func.count(OverlayArea.id)).scalar_subquery(),
                select(func.max(OverlayArea.id)).scalar_subquery(),
            )
        ).one()
    )


def territory_index(db: Session) -> TerritoryIndex:
    """The locator for ``db``, rebuilt when grids or overlays have changed since it was built."""
    key = database_key(db)
    now = time.monotonic()
    cached = _INDEXES.get(key)
    if cached is not None and now - cached.checked_at < INDEX_RECHECK_S:
        return cached.index
    if cached is None:
        fp = _fingerprint(db)
    else:
        if not _CHECKING.acquire(blocking=False):
            return cached.index  # another thread is checking it: go on with it meanwhile
        try:
            fp = _fingerprint(db)
        finally:
            _CHECKING.release()
        if cached.index.fingerprint == fp:
            cached.checked_at = now
            return cached.index
    with _LOCK:  # one thread builds; the others waiting here take what it built
        cached = _INDEXES.get(key)
        if cached is not None and cached.index.fingerprint == fp:
            return cached.index
        built = _build_index(db, fp)
        _INDEXES[key] = _Cached(built, now)
        return built


_TERRITORY_TYPES = (Grid, OverlayArea, OverlayLayer)


@event.listens_for(Session, "after_flush")
def _territory_flushed(session: Session, _context: Any) -> None:
    """Grids or overlays written in this process: drop the locators (also seen before commit)."""
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, _TERRITORY_TYPES) for obj in changed):
        session.info["territory_changed"] = True
        _INDEXES.clear()


@event.listens_for(Session, "after_transaction_end")
def _territory_settled(session: Session, transaction: SessionTransaction) -> None:
    """Committed or rolled back: the locators must not keep what a rollback undid."""
    if session.info.get("territory_changed"):
        _INDEXES.clear()
        if transaction.parent is None:
            del session.info["territory_changed"]


def _build_index(db: Session, fp: tuple[Any, ...]) -> TerritoryIndex:
    rows = db.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.village_code, Grid.geometry)
        .where(Grid.valid_to.is_(None))
        .order_by(Grid.level.desc(), Grid.code)  # second-level grids win over their parents
    ).all()
    layers = []
    for layer in db.scalars(select(OverlayLayer).order_by(OverlayLayer.code)):
        areas = list(layer.areas)
        layers.append(
            _LayerIndex(
                layer.code,
                [(a.code, a.name) for a in areas],
                PolygonIndex([from_text(a.geometry) for a in areas]),
            )
        )
    return TerritoryIndex(
        fingerprint=fp,
        grids=[(r.id, r.code, r.name, r.village_code) for r in rows],
        index=PolygonIndex([from_text(r.geometry) for r in rows]),
        layers=layers,
    )


def locate_point(db: Session, lon: float, lat: float) -> Location | None:
    """The grid, division chain and overlay areas at a WGS84 point; None outside every grid."""
    return locate_many(db, [lon], [lat])[0]


def grid_at(db: Session, lon: float, lat: float) -> tuple[str, str] | None:
    """(village code, grid code) at a WGS84 point; None outside every grid."""
    idx = territory_index(db)
    pos = idx.index.locate_one(lon, lat)
    if pos == OUTSIDE:
        return None
    _gid, code, _name, village = idx.grids[pos]
    return village, code


def locate_many(db: Session, lons: Any, lats: Any) -> list[Location | None]:
    """Vectorised :func:`locate_point` for many WGS84 points (None where outside)."""
    idx = territory_index(db)
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    positions = idx.grid_positions(lons, lats)
    per_layer = [(layer, layer.index.locate(lons, lats)) for layer in idx.layers]
    out: list[Location | None] = []
    for i, pos in enumerate(positions.tolist()):
        overlays = [
            (layer.code, *layer.areas[hits[i]]) for layer, hits in per_layer if hits[i] != OUTSIDE
        ]
        out.append(idx.location(pos, overlays))
    return out


# --- the six checks over stored data ------------------------------------------------------


def village_boundary(db: Session, village_code: str) -> DivisionBoundary | None:
    return db.get(DivisionBoundary, village_code)


@dataclass
class _VillageInputs:
    village: BaseGeometry
    grids: list[GridShape]
    roads: list[BaseGeometry]
    sites: list[ProtectedSite]


def _village_inputs(
    db: Session, village_code: str, households: Mapping[str, int] | None = None
) -> _VillageInputs:
    """Everything the checks need about one village, read from the database; ``households``
    (grid code → count, e.g. the ledger's) replaces the filed counts."""
    grids = current_grids(db, village=village_code)
    shapes = [
        GridShape(
            g.code,
            from_text(g.geometry),
            g.households if households is None else households.get(g.code, 0),
            g.kind.value,
        )
        for g in grids
        if g.level == 1  # second-level grids subdivide first-level ones: check them apart
    ]
    boundary = village_boundary(db, village_code)
    village = from_text(boundary.geometry) if boundary else union_all([s.geometry for s in shapes])
    roads, sites = features_near(db, village)
    return _VillageInputs(village, shapes, roads, sites)


def features_near(
    db: Session, area: BaseGeometry, *, inside: bool = False
) -> tuple[list[BaseGeometry], list[ProtectedSite]]:
    """The stored road/river lines and protected sites whose bounding boxes meet ``area``'s;
    with ``inside``, only lines touching ``area`` and sites overlapping it."""
    x0, y0, x1, y1 = area.bounds
    features = db.scalars(
        select(TerritoryFeature).where(
            TerritoryFeature.max_lon >= x0,
            TerritoryFeature.min_lon <= x1,
            TerritoryFeature.max_lat >= y0,
            TerritoryFeature.min_lat <= y1,
        )
    ).all()
    roads: list[BaseGeometry] = []
    sites: list[ProtectedSite] = []
    for f in features:
        g = from_text(f.geometry)
        if f.kind == FeatureKind.PROTECTED:
            if not inside or g.intersection(area).area > 0:
                sites.append(ProtectedSite(f.name, g))
        elif not inside or g.intersects(area):
            roads.append(g)
    return roads, sites


def _run_checks(inputs: _VillageInputs, band: tuple[int, int]) -> VillageReport:
    return check_village(
        inputs.village, inputs.grids, roads=inputs.roads, protected=inputs.sites, band=band
    )


def check_stored_village(
    db: Session,
    village_code: str,
    band: tuple[int, int] | None = None,
    households: Mapping[str, int] | None = None,
) -> VillageReport:
    """Run the six checks on a village's current grids, roads, rivers and protected sites
    (with ``households``, on those counts instead of the filed ones)."""
    inputs = _village_inputs(db, village_code, households)
    return _run_checks(inputs, band or household_band())


def check_territory(
    db: Session, prefix: str = "", band: tuple[int, int] | None = None
) -> dict[str, VillageReport]:
    """The checks for every village with grids under ``prefix``."""
    band = band or household_band()
    return {v: check_stored_village(db, v, band) for v in village_codes_with_grids(db, prefix)}


_CHECKS: dict[tuple[Any, ...], VillageReport] = {}


def _checks_fingerprint(db: Session) -> tuple[Any, ...]:
    feats = db.execute(select(func.count(TerritoryFeature.id), func.max(TerritoryFeature.id))).one()
    bounds = db.execute(
        select(func.count(), func.max(DivisionBoundary.updated_at)).select_from(DivisionBoundary)
    ).one()
    return (str(db.get_bind().engine.url), *_fingerprint(db), *feats, *bounds)


def household_band() -> tuple[int, int]:
    """The configured household band of comprehensive grids."""
    settings = get_settings()
    return settings.grid_households_min, settings.grid_households_max


def checks_for(
    db: Session, user: User, prefix: str = "", band: tuple[int, int] | None = None
) -> dict[str, VillageReport]:
    """The checks of every village under ``prefix`` that ``user`` covers (cached until a change)."""
    band = band or household_band()
    j = scope.Jurisdiction.of(user)
    fp = _checks_fingerprint(db)
    villages = [v for v in village_codes_with_grids(db, prefix) if j.covers_code(v)]
    missing = {v: _village_inputs(db, v) for v in villages if (*fp, band, v) not in _CHECKS}
    if missing:
        # end the read transaction before the (seconds-long) geometry work: on SQLite every
        # transaction holds the write lock, and other requests would wait for it
        db.commit()
    for village, inputs in missing.items():
        _CHECKS[(*fp, band, village)] = _run_checks(inputs, band)
    return {v: _CHECKS[(*fp, band, v)] for v in villages}


def problem_codes(reports: dict[str, VillageReport]) -> dict[str, list[str]]:
    """Grid code → the problems found on it (only grids with problems)."""
    return {g.code: g.problems for r in reports.values() for g in r.grids if g.problems}


def grid_name(db: Session, code: str | None) -> str | None:
    """The name of the current grid with this code (None if there is none)."""
    if not code:
        return None
    return db.scalar(select(Grid.name).where(Grid.code == code, Grid.valid_to.is_(None)))
