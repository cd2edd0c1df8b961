"""The demo territory of Shijie town (石碣镇, 441900101): generated geometry, real village codes.

:func:`generate_territory` returns the raw geometry only (village polygons tiling the town,
streets, buildings with household counts, protected sites); :func:`load_territory` stores it,
each village divided into grids by the automatic division of ``civgrid.planning``. Seeded, so
the same town comes out every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.divisions.models import Division
from civgrid.grids.actions import (
    GridDraft,
    add_grid,
    set_grid_members,
)
from civgrid.grids.checks import ProtectedSite
from civgrid.grids.models import FeatureKind, Grid, GridKind
from civgrid.grids.overlays import import_overlay_layer, replace_features, set_division_boundary

TOWNSHIP = "441900101"
ORIGIN = (113.755, 23.105)  # north-west corner of the generated town (lon, lat)
COLUMNS, ROWS = 5, 3
CELL_W, CELL_H = 1200.0, 1300.0  # metres per village cell
SEED = 441900101


@dataclass(frozen=True)
class Building:
    geometry: BaseGeometry
    households: int


@dataclass
class Territory:
    """Raw geometry of a town, WGS84: what a survey would deliver."""

    villages: dict[str, BaseGeometry]
    roads: list[tuple[str, LineString]]
    # Rivers run just outside the town (never across a village): context on the maps only.
    rivers: list[tuple[str, BaseGeometry]]
    buildings: dict[str, list[Building]]  # village code → buildings
    protected: list[ProtectedSite]
    exclusive: dict[str, list[ProtectedSite]] = field(default_factory=dict)  # kept as own grids


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Metres east/south of ORIGIN → lon/lat (equirectangular; fine at town scale)."""
    lon0, lat0 = ORIGIN
    return lon0 + x / (111_320 * math.cos(math.radians(lat0))), lat0 - y / 110_574


def _geo(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(
        geom, lambda xy: np.array([to_lonlat(float(x), float(y)) for x, y in xy]).reshape(-1, 2)
    )


def generate_territory(village_codes: Sequence[str], *, seed: int = SEED) -> Territory:
    """Villages tiling the town, streets, buildings with households and protected sites."""
    rng = np.random.default_rng(seed)
    codes = sorted(village_codes)[: COLUMNS * ROWS]
    # a jittered lattice; inner vertices move up to 150 m so villages are irregular quads
    vx = np.array([[c * CELL_W for c in range(COLUMNS + 1)] for _r in range(ROWS + 1)], float)
    vy = np.array([[r * CELL_H for _c in range(COLUMNS + 1)] for r in range(ROWS + 1)], float)
    vx[1:-1, 1:-1] += rng.uniform(-150, 150, (ROWS - 1, COLUMNS - 1))
    vy[1:-1, 1:-1] += rng.uniform(-150, 150, (ROWS - 1, COLUMNS - 1))
    villages_m: dict[str, Polygon] = {}
    for i, code in enumerate(codes):
        r, c = divmod(i, COLUMNS)
        villages_m[code] = Polygon(
            [
                (vx[r, c], vy[r, c]),
                (vx[r, c + 1], vy[r, c + 1]),
                (vx[r + 1, c + 1], vy[r + 1, c + 1]),
                (vx[r + 1, c], vy[r + 1, c]),
            ]
        )
    roads_m = _roads(vx, vy, villages_m, rng)
    road_zone = shapely.union_all([g for _n, g in roads_m]).buffer(10)
    school = box(*_around(villages_m[codes[0]].centroid, 110, 80))
    factory = box(*_around(villages_m[codes[4]].centroid, 160, 120))
    compound = box(*_around(villages_m[codes[7]].centroid, 90, 90))
    buildings_m = {
        code: _buildings(poly, road_zone, [school], rng, dense=(code.endswith("002")))
        for code, poly in villages_m.items()
    }
    return Territory(
        villages={c: _geo(p) for c, p in villages_m.items()},
        roads=[(n, _geo(g)) for n, g in roads_m],
        rivers=[(n, _geo(g)) for n, g in _rivers()],
        buildings={
            c: [Building(_geo(b.geometry), b.households) for b in bs]
            for c, bs in buildings_m.items()
        },
        protected=[
            ProtectedSite("石碣中学", _geo(school)),
            ProtectedSite("电子厂", _geo(factory)),
            ProtectedSite("供水公司大院", _geo(compound)),
        ],
        exclusive={codes[0]: [ProtectedSite("石碣中学", _geo(school))]},
    )


def _around(p: Point, half_w: float, half_h: float) -> tuple[float, float, float, float]:
    return p.x - half_w, p.y - half_h, p.x + half_w, p.y + half_h


def _roads(
    vx: np.ndarray, vy: np.ndarray, villages: dict[str, Polygon], rng: np.random.Generator
) -> list[tuple[str, LineString]]:
    """Streets along the village lattice plus one street across each village."""
    roads = [(f"横{r + 1}路", LineString(zip(vx[r], vy[r], strict=True))) for r in range(ROWS + 1)]
    roads += [
        (f"纵{c + 1}路", LineString(zip(vx[:, c], vy[:, c], strict=True)))
        for c in range(COLUMNS + 1)
    ]
    for i, poly in enumerate(villages.values()):
        x0, y0, x1, y1 = poly.bounds
        t = rng.uniform(0.35, 0.65)
        across = LineString([(x0 - 50, y0 + t * (y1 - y0)), (x1 + 50, y0 + t * (y1 - y0))])
        roads.append((f"村道{i + 1}", poly.intersection(across)))  # type: ignore[arg-type]
    return roads


def _rivers() -> list[tuple[str, BaseGeometry]]:
    """The Dongjiang's water north of the town and a creek along its south edge."""
    width, south = COLUMNS * CELL_W, ROWS * CELL_H
    river = np.linspace(-2500, width + 2500, 120)  # wide: its ends stay off the town's maps
    shore = -70 - 25 * np.sin(river / 700)
    far = (-650 - 120 * np.sin(river / 1100))[::-1]
    dongjiang = Polygon([*zip(river, shore, strict=True), *zip(river[::-1], far, strict=True)])
    xs = np.linspace(-400, width + 400, 60)
    creek = LineString(zip(xs, south + 70 + 20 * np.sin(xs / 450), strict=True))
    return [("东江", dongjiang), ("石碣涌", creek)]


def _buildings(
    village: Polygon,
    road_zone: BaseGeometry,
    keep_out: list[Polygon],
    rng: np.random.Generator,
    dense: bool,
) -> list[Building]:
    spacing = 55.0 if dense else 70.0
    x0, y0, x1, y1 = village.bounds
    xs = np.arange(x0 + spacing / 2, x1, spacing)
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx.ravel() + rng.uniform(-12, 12, gx.size)
    gy = gy.ravel() + rng.uniform(-12, 12, gy.size)
    footprints = shapely.box(gx - 10, gy - 8, gx + 10, gy + 8)
    ok = shapely.contains(village, footprints) & ~shapely.intersects(road_zone, footprints)
    for site in keep_out:
        ok &= ~shapely.intersects(site.buffer(5), footprints)
    households = rng.integers(6, 22 if dense else 16, gx.size)
    return [Building(f, int(h)) for f, h, k in zip(footprints, households, ok, strict=True) if k]


def _short(name: str) -> str:
    for suffix in ("居民委员会", "村民委员会", "委员会"):
        name = name.removesuffix(suffix)
    return name


def load_territory(db: Session) -> int:
    """Store the demo town's boundaries, features, grids and overlays; skipped when present."""
    if db.scalar(select(Grid.id).where(Grid.code.startswith(TOWNSHIP)).limit(1)):
        return 0
    villages = {
        d.code: d for d in db.scalars(select(Division).where(Division.parent_code == TOWNSHIP))
    }
    territory = generate_territory(list(villages))
    for code, geom in territory.villages.items():
        set_division_boundary(db, code, geom, actor=None)
    features = [(FeatureKind.ROAD, n, g) for n, g in territory.roads if not g.is_empty]
    features += [(FeatureKind.RIVER, n, g) for n, g in territory.rivers]
    features += [(FeatureKind.PROTECTED, s.name, s.geometry) for s in territory.protected]
    replace_features(db, TOWNSHIP, features, actor=None)
    from civgrid.planning.demo import village_grids  # planning builds on grids

    roads = [g for _, g in territory.roads if not g.is_empty]
    count = 0
    for code, village in territory.villages.items():
        pieces = village_grids(
            code,
            village,
            territory.buildings[code],
            roads=roads,
            protected=territory.protected,
            exclusive=territory.exclusive.get(code, ()),
        )
        short = _short(villages[code].name)
        for geom, households, kind, site, grid_code in pieces:
            name = (
                f"{site}专属网格"
                if kind is GridKind.EXCLUSIVE
                else f"{short}第{int(grid_code[12:])}网格"
            )
            draft = GridDraft(
                code, geom, name, households, round(households * 2.8), kind, code=grid_code
            )
            add_grid(db, draft, actor=None, note="demo territory (generated geometry)")
            count += 1
    db.commit()
    _demo_staff(db)
    _demo_overlays(db, territory)
    return count


def _demo_staff(db: Session) -> None:
    """Every grid gets a leader and a grid worker from the demo staff (civgrid.demo), if loaded."""
    from civgrid.demo import DEMO_VILLAGE_WORKERS

    wanted = [*DEMO_VILLAGE_WORKERS, "leader", "leader2"]
    users = {u.username: u for u in db.scalars(select(User).where(User.username.in_(wanted)))}
    for username, villages in DEMO_VILLAGE_WORKERS.items():
        worker = users.get(username)
        leader = users.get("leader" if username == "worker" else "leader2")
        grids = db.scalars(select(Grid).where(Grid.village_code.in_(villages))).all()
        for grid in grids:
            grid.leader_id = leader.id if leader else None
        db.commit()
        if worker is not None:
            for grid in grids:
                set_grid_members(db, grid, user_ids=[worker.id], actor=None)


def _demo_overlays(db: Session, territory: Territory) -> None:
    town = shapely.union_all(list(territory.villages.values()))
    x0, y0, x1, y1 = town.bounds
    thirds = [x0 + (x1 - x0) * t for t in (0, 1 / 3, 2 / 3, 1)]
    police = [
        (
            f"JWQ{i + 1:02d}",
            f"石碣派出所第{i + 1}警务区",
            town.intersection(box(thirds[i], y0, thirds[i + 1], y1)),
        )
        for i in range(3)
    ]
    import_overlay_layer(db, code="police", name="警务区", areas=police, actor=None)
    mid = (y0 + y1) / 2
    sanitation = [
        ("HW-N", "北片环卫作业区", town.intersection(box(x0, mid, x1, y1))),
        ("HW-S", "南片环卫作业区", town.intersection(box(x0, y0, x1, mid))),
    ]
    import_overlay_layer(
        db,
        code="sanitation",
        name="环卫作业区",
        areas=sanitation,
        department_code="DG-SJ-HW",
        actor=None,
    )
