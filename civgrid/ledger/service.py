"""Queries over the ledger: scope, lists with search, history, household totals, map points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, Select, cast, func, or_, select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.grids.checks import VillageReport
from civgrid.grids.geojson import register_card_extension
from civgrid.grids.models import Grid
from civgrid.grids.service import check_stored_village, village_codes_with_grids
from civgrid.ledger.models import (
    MODELS,
    Dwelling,
    LedgerChange,
    LedgerKind,
    StandardAddress,
    Unit,
    UnitLicence,
)

# Staff see the ledger of their territory; grid staff and admins keep it, in their territory.
EDITORS = frozenset({Role.ADMIN, Role.GRID_LEADER, Role.GRID_WORKER})
for _model in MODELS.values():
    scope.register(
        _model,
        roles={"view": scope.STAFF, "change": EDITORS},
        condition=scope.by_code_prefix(_model.grid_code),
    )

# Search fields per kind (ILIKE on each; addresses also match their pinyin keywords).
SEARCHED: dict[LedgerKind, tuple[str, ...]] = {
    LedgerKind.ADDRESSES: ("code", "full_text", "keywords"),
    LedgerKind.BUILDINGS: ("code", "name", "address"),
    LedgerKind.DWELLINGS: ("code", "address"),
    LedgerKind.UNITS: ("code", "name", "address", "credit_code"),
    LedgerKind.COMPONENTS: ("code", "class_code", "owner", "maintainer"),
}
PAGE = 50


def ledger_query(
    kind: LedgerKind,
    user: User | None,
    *,
    territory: str = "",
    q: str = "",
    retired: bool = False,
    action: str = "view",
) -> Select[Any]:
    """The records of a kind the user may see, in a grid or division, matching a search."""
    model = MODELS[kind]
    query = select(model)
    if user is not None:
        query = scope.restrict(query, user, action, model)
    if territory:
        query = query.where(model.grid_code.startswith(territory, autoescape=True))
    if not retired:
        query = query.where(model.retired_at.is_(None))
    words = q.strip().split()
    for word in words[:5]:
        pattern = f"%{word.lower()}%"
        fields = [getattr(model, f) for f in SEARCHED[kind]]
        query = query.where(or_(*[func.lower(f).like(pattern) for f in fields]))
    return query.order_by(model.grid_code, model.code)


def ledger_page(
    db: Session, kind: LedgerKind, user: User, *, territory: str = "", q: str = "", page: int = 1
) -> tuple[Sequence[Any], int]:
    """One page of a ledger list and the total count."""
    query = ledger_query(kind, user, territory=territory, q=q)
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.scalars(query.limit(PAGE).offset(max(page - 1, 0) * PAGE)).all()
    return rows, total


def record_history(db: Session, kind: LedgerKind, record_id: int) -> Sequence[LedgerChange]:
    """Every change to a record, oldest first."""
    return db.scalars(
        select(LedgerChange)
        .where(LedgerChange.kind == kind, LedgerChange.record_id == record_id)
        .order_by(LedgerChange.version, LedgerChange.id)
    ).all()


def search_addresses(db: Session, user: User, q: str, limit: int = 20) -> Sequence[StandardAddress]:
    """Standard addresses matching every word of ``q`` in any part, or in pinyin."""
    query = ledger_query(LedgerKind.ADDRESSES, user, q=q)
    return db.scalars(query.limit(limit)).all()


@dataclass(frozen=True)
class HouseholdFigures:
    """A grid's household count as filed, as the ledger's dwellings add up, and the gap."""

    grid_code: str
    filed: int
    ledger: int
    dwellings: int

    @property
    def difference(self) -> int:
        return self.ledger - self.filed


def ledger_households(db: Session, grid_codes: Sequence[str] | None = None) -> dict[str, int]:
    """Grid code → households summed over its current dwellings (division checks use this)."""
    query = (
        select(Dwelling.grid_code, func.sum(Dwelling.households))
        .where(Dwelling.retired_at.is_(None))
        .group_by(Dwelling.grid_code)
    )
    if grid_codes is not None:
        query = query.where(Dwelling.grid_code.in_(list(grid_codes)))
    return {code: int(total or 0) for code, total in db.execute(query)}


def ledger_checks(db: Session, prefix: str = "") -> dict[str, VillageReport]:
    """The six division checks per village, with each grid's households as its dwellings count
    them (the size check then compares the ledger, not the filed figure, with the band)."""
    counts = ledger_households(db)
    return {
        v: check_stored_village(db, v, households=counts)
        for v in village_codes_with_grids(db, prefix)
    }


def household_figures(db: Session, grid: Grid) -> HouseholdFigures:
    """The filed and ledger household counts of one grid."""
    total, count = db.execute(
        select(func.coalesce(func.sum(Dwelling.households), 0), func.count(Dwelling.id)).where(
            Dwelling.grid_code == grid.code, Dwelling.retired_at.is_(None)
        )
    ).one()
    return HouseholdFigures(grid.code, grid.households, int(total), int(count))


def _cell(db: Session, value: Any) -> Any:
    """floor() of a non-negative number (SQLite's CAST truncates; it may lack floor())."""
    if db.get_bind().dialect.name == "sqlite":
        return cast(value, Integer)
    return func.floor(value)


def _grid_card(db: Session, grid: Grid) -> dict[str, Any]:
    """The grid map's card: the ledger's household count beside the filed one, and the way to
    the grid's ledger page (with the grid book)."""
    figures = household_figures(db, grid)
    return {
        "ledger_households": figures.ledger,
        "households_difference": f"{figures.difference:+d}",
        "ledger_page": f"/ledger/grids/{grid.code}",
    }


register_card_extension(_grid_card)


# Below this many points a layer is sent as points; above, as grid-bucket clusters.
CLUSTER_ABOVE = 2000


def map_layer(
    db: Session,
    kind: LedgerKind,
    user: User,
    bbox: tuple[float, float, float, float],
    *,
    buckets: int = 32,
) -> dict[str, Any]:
    """Points of a kind inside a box: each point, or clusters counted by the database.

    Clustering is server-side grid-bucket aggregation: the box is cut into ``buckets`` ×
    ``buckets`` cells and one SQL GROUP BY counts the points per cell, so 50,000 points cost
    one aggregate query and at most buckets² features on the wire.
    """
    model = MODELS[kind]
    west, south, east, north = bbox
    base = ledger_query(kind, user).order_by(None)
    inside = base.where(model.lon.between(west, east), model.lat.between(south, north))
    total = db.scalar(select(func.count()).select_from(inside.subquery())) or 0
    if total <= CLUSTER_ABOVE:
        rows = db.execute(
            inside.with_only_columns(model.id, model.code, model.lon, model.lat)
        ).all()
        points = [{"id": r.id, "code": r.code, "lon": r.lon, "lat": r.lat} for r in rows]
        return {"kind": kind.value, "total": total, "clustered": False, "points": points}
    dx = max(east - west, 1e-9) / buckets
    dy = max(north - south, 1e-9) / buckets
    cx, cy = _cell(db, (model.lon - west) / dx), _cell(db, (model.lat - south) / dy)
    rows = db.execute(
        inside.with_only_columns(
            cx.label("cx"),
            cy.label("cy"),
            func.count().label("n"),
            func.avg(model.lon).label("lon"),
            func.avg(model.lat).label("lat"),
        ).group_by(cx, cy)
    ).all()
    clusters = [{"count": int(r.n), "lon": float(r.lon), "lat": float(r.lat)} for r in rows]
    return {"kind": kind.value, "total": total, "clustered": True, "clusters": clusters}


EXPIRING_DAYS = 30


def expiring_licences(
    db: Session, user: User | None, *, today: date, territory: str = "", days: int = EXPIRING_DAYS
) -> list[tuple[UnitLicence, Unit]]:
    """Current licences of current units that expire within ``days`` (or have expired), in the
    user's grids, soonest first."""
    query: Any = (  # Select[UnitLicence, Unit]
        select(UnitLicence, Unit)
        .join(Unit, Unit.id == UnitLicence.unit_id)
        .where(
            UnitLicence.retired_at.is_(None),
            Unit.retired_at.is_(None),
            UnitLicence.expires_on <= today + timedelta(days=days),
            Unit.grid_code.startswith(territory, autoescape=True),
        )
        .order_by(UnitLicence.expires_on, Unit.grid_code, Unit.code)
    )
    if user is not None:
        query = scope.restrict(query, user, "view", Unit)
    return [(lic, unit) for lic, unit in db.execute(query)]
