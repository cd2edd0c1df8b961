"""A generated township for tests, the benchmark and the demo: seeded, so always the same.

Villages tile a rectangle; a lattice of streets (with a jitter) and a river cut it into blocks;
buildings (small footprints) fill the blocks with mostly 1–6 households, some apartment blocks
of 20–120, and one tower of 800 that must become its own exclusive grid; protected sites
(schools, factories, compounds) hold a few buildings each and must stay whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from civgrid.grids.checks import ProtectedSite
from civgrid.planning.inputs import Unit

ORIGIN = (113.70, 23.10)  # south-west corner (lon, lat)
M_PER_DEG_LAT = 110_574.0


@dataclass
class Township:
    """Raw WGS84 input of a division: village boundaries, units, roads and protected sites."""

    villages: dict[str, BaseGeometry]
    units: list[Unit]
    roads: list[BaseGeometry]
    protected: list[ProtectedSite]


def _to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    lon0, lat0 = ORIGIN
    kx = 111_320.0 * np.cos(np.radians(lat0))

    def xy(c: np.ndarray) -> np.ndarray:
        return np.column_stack([lon0 + c[:, 0] / kx, lat0 + c[:, 1] / M_PER_DEG_LAT])

    return shapely.transform(geom, xy)


def township(
    n_buildings: int = 13_000,
    *,
    villages: tuple[int, int] = (2, 2),
    seed: int = 7,
    prefix: str = "4419001019",
) -> Township:
    """A township of about ``n_buildings`` buildings and 3.2 households per building."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n_buildings) * 36.0)  # ~36 m between buildings
    cols, rows = villages
    vw, vh = side / cols, side / rows
    village_m = {
        f"{prefix}{r * cols + c + 1:02d}": shapely.box(c * vw, r * vh, (c + 1) * vw, (r + 1) * vh)
        for r in range(rows)
        for c in range(cols)
    }
    roads_m = _streets(side, rng)
    road_zone = shapely.union_all(roads_m).buffer(7)
    edges = shapely.union_all([v.boundary for v in village_m.values()]).buffer(10)
    sites_m = _sites(side, rng, road_zone.union(edges))
    xy, households = _buildings(n_buildings, side, rng, road_zone)
    units = [
        Unit(f"b{i}", _to_wgs84(shapely.box(x - 7, y - 6, x + 7, y + 6)), int(h))
        for i, ((x, y), h) in enumerate(zip(xy.tolist(), households.tolist(), strict=True))
    ]
    return Township(
        villages={c: _to_wgs84(v) for c, v in village_m.items()},
        units=units,
        roads=[_to_wgs84(r) for r in roads_m],
        protected=[ProtectedSite(n, _to_wgs84(g)) for n, g in sites_m],
    )


def _streets(side: float, rng: np.random.Generator) -> list[BaseGeometry]:
    """Streets every ~250 m each way, slightly bent, and one winding river."""
    lines: list[BaseGeometry] = []
    for t in np.arange(240.0, side - 100, 250.0):
        bend = rng.uniform(-25, 25, 5)
        s = np.linspace(0, side, 5)
        lines.append(LineString(np.column_stack([t + bend, s])))
        lines.append(LineString(np.column_stack([s, t + bend[::-1]])))
    s = np.linspace(0, side, 40)
    river = np.column_stack([s, side * 0.37 + 120 * np.sin(s / side * 2 * np.pi)])
    lines.append(LineString(river))
    return lines


def _sites(
    side: float, rng: np.random.Generator, road_zone: BaseGeometry
) -> list[tuple[str, BaseGeometry]]:
    names = ["第一小学", "第二小学", "中学", "电子厂", "纺织厂", "供水公司大院", "公园", "医院"]
    out: list[tuple[str, BaseGeometry]] = []
    for name in names:
        for _ in range(50):
            x, y = rng.uniform(0.1 * side, 0.9 * side, 2)
            w, h = rng.uniform(60, 140, 2)
            g = shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            if not g.intersects(road_zone) and not any(g.buffer(30).intersects(o) for _, o in out):
                out.append((name, g))
                break
    return out


def _buildings(
    n: int, side: float, rng: np.random.Generator, road_zone: BaseGeometry
) -> tuple[np.ndarray, np.ndarray]:
    """Building centres clear of the streets, and household counts (mean ~3.2)."""
    step = side / np.sqrt(n * 1.32)
    g = np.arange(step / 2, side, step)
    gx, gy = np.meshgrid(g, g)
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-step / 5, step / 5, (gx.size, 2))
    shapely.prepare(road_zone)
    clear = ~shapely.intersects(road_zone, shapely.buffer(shapely.points(xy), 8))
    xy = xy[clear]
    xy = xy[rng.permutation(len(xy))[:n]]
    households = rng.integers(1, 5, len(xy))
    flats = rng.random(len(xy)) < 0.012
    households[flats] = rng.integers(20, 121, int(flats.sum()))
    households[0] = 800  # one tower: its own exclusive grid
    return xy, households
