"""Assessor-like parcels derived from real street blocks, for tests and the benchmark.

Real parcel layers are not building footprints. This generator cuts each Cambridge street
block (``units`` = residential units of the block) into lots the way a city is platted: rows
of lots back to back across the block (about 45 m deep), the lot lines of neighbouring rows
meeting (lots touch diagonally at corners) or not (T-junctions), now and then a sliver under
a metre wide. Each block first gives up half a street on every side.
The streets stay gaps between the lots of different blocks. The block's units are spread over
its lots: about 30 % of the lots hold none (shops, parks, schools, car parks), large blocks put
most of their units on one lot (a heavy tail of single parcels with 500–1,200 units). As
published, about 0.3 % of the rings touch themselves (an inverted hole at a vertex), and a few
features have no geometry, a line instead of a polygon, or NaN coordinates. Coordinates are
lon/lat (EPSG:4326). More parcels than the city has are made by tiling copies of it eastwards
and northwards. Seeded: the same arguments give the same parcels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

LOT_M2 = 850.0  # typical lot area: Cambridge's 749 blocks make ~13,000 lots
ZERO_SHARE = 0.3
CAMPUS_M2 = 60_000.0


@dataclass(frozen=True)
class Parcel:
    """One feature as published: an id, a geometry (maybe missing or broken) and units."""

    id: str
    geometry: BaseGeometry | None
    units: int


def parcels(
    blocks_path: Path, n: int = 13_000, *, seed: int = 24, broken: bool = True
) -> list[Parcel]:
    """Exactly ``n`` parcels: the blocks nearest the city centre (then copies of the city),
    each cut into lots."""
    rng = np.random.default_rng(seed)
    blocks, units, kx, ky, lon0, lat0 = _blocks(blocks_path)
    order = np.argsort(shapely.distance(blocks, shapely.centroid(shapely.union_all(blocks))))
    x0, y0, x1, y1 = shapely.total_bounds(blocks)
    lots: list[BaseGeometry] = []
    counts: list[int] = []
    copy = 0
    while len(lots) < n:
        dx, dy = (copy % 3) * (x1 - x0), (copy // 3) * (y1 - y0)
        for b in order.tolist():
            block = shapely.transform(blocks[b], lambda c, d=(dx, dy): c + d)  # type: ignore[misc]
            # the blocks are bounded by street centre lines: half a street on each side
            block = block.buffer(-rng.uniform(4.0, 9.0), join_style="mitre")
            if block.is_empty:
                continue
            new = _cut(block, rng)
            lots += new
            counts += _spread(int(units[b]), new, rng)
            if len(lots) >= n:
                break
        copy += 1
    geoms = shapely.transform(
        np.asarray(lots[:n], dtype=object), lambda c: c / [kx, ky] + [lon0, lat0]
    )
    out = [
        Parcel(f"P{i:06d}", g, u) for i, (g, u) in enumerate(zip(geoms, counts[:n], strict=True))
    ]
    return _break(out, rng) if broken else out


def _blocks(path: Path) -> tuple[np.ndarray, np.ndarray, float, float, float, float]:
    """The blocks in a local metric frame (equirectangular) and that frame's constants."""
    df = pyogrio.read_dataframe(path)
    geoms = np.asarray(df.geometry.values, dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    lon0, lat0 = float(x0), float(y0)
    ky = 111_132.0
    kx = ky * math.cos(math.radians((y0 + y1) / 2))
    metric = shapely.transform(geoms, lambda c: (c - [lon0, lat0]) * [kx, ky])
    return metric, np.asarray(df.units.values), kx, ky, lon0, lat0


def _cut(block: BaseGeometry, rng: np.random.Generator) -> list[BaseGeometry]:
    """Lots of one block: strips across its long axis, in one or two rows."""
    k = max(1, round(block.area / LOT_M2 * rng.uniform(0.8, 1.25)))
    if block.area > CAMPUS_M2:  # parks, campuses, rail yards: a few large parcels
        k = int(rng.integers(1, 6))
    if k == 1:
        return [block]
    rect = block.minimum_rotated_rectangle
    c = shapely.get_coordinates(rect)[:4]
    e1, e2 = c[1] - c[0], c[2] - c[1]
    u, v = (e1, e2) if np.hypot(*e1) >= np.hypot(*e2) else (e2, e1)
    origin = c[0] if np.hypot(*e1) >= np.hypot(*e2) else c[1]
    rows = int(np.clip(round(np.hypot(*v) / 45), 1, max(1, k // 3)))
    aligned = rows > 1 and rng.random() < 0.3
    first = _splits(max(1, k // rows + k % rows), rng)
    cells = []
    for r in range(rows):
        cuts = first if r == 0 or aligned else _splits(max(1, k // rows), rng)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            p = [origin + a * u + r / rows * v, origin + b * u + r / rows * v]
            p += [origin + b * u + (r + 1) / rows * v, origin + a * u + (r + 1) / rows * v]
            cells.append(shapely.Polygon(_widen(np.array(p), u, v, a, b, rows, r)))
    lots = shapely.intersection(np.asarray(cells, dtype=object), block, grid_size=None)
    return [g for g in shapely.get_parts(lots) if g.geom_type == "Polygon" and g.area > 0.05]


def _widen(
    p: np.ndarray, u: np.ndarray, v: np.ndarray, a: float, b: float, rows: int, r: int
) -> np.ndarray:
    """Outer cells reach past the rectangle so the intersection keeps the whole block."""
    out = p.copy()
    pad_u, pad_v = u / np.hypot(*u) * 2, v / np.hypot(*v) * 2
    if a == 0:
        out[[0, 3]] -= pad_u
    if b == 1:
        out[[1, 2]] += pad_u
    if r == 0:
        out[[0, 1]] -= pad_v
    if r == rows - 1:
        out[[2, 3]] += pad_v
    return out


def _splits(m: int, rng: np.random.Generator) -> list[float]:
    """Cut positions in [0, 1] for ``m`` lots; now and then a sliver under a metre."""
    cuts = np.concatenate([[0.0], np.cumsum(rng.dirichlet(np.full(m, 4.0)))])
    cuts[-1] = 1.0
    if m > 2 and rng.random() < 0.1:
        k = int(rng.integers(1, m - 1))
        cuts = np.sort(np.append(cuts, cuts[k] + rng.uniform(0.002, 0.006)))
    return [float(x) for x in cuts]


def _spread(total: int, lots: list[BaseGeometry], rng: np.random.Generator) -> list[int]:
    """The block's units over its lots: some lots none, big blocks mostly on one lot."""
    k = len(lots)
    out = np.zeros(k, dtype=np.int64)
    if total == 0:
        return out.tolist()
    area = shapely.area(np.asarray(lots, dtype=object))
    live = (rng.random(k) >= ZERO_SHARE) & (area > 30)
    if not live.any():
        live[int(np.argmax(area))] = True
    if total > 300:
        big = int(np.argmax(np.where(live, area, -1)))
        out[big] = round(total * 0.85)
        total -= int(out[big])
        live[big] = False
        if not live.any():
            out[big] += total
            return out.tolist()
    idx = np.flatnonzero(live)
    out[idx] += rng.multinomial(total, rng.dirichlet(np.full(len(idx), 1.5)))
    return out.tolist()


def _break(out: list[Parcel], rng: np.random.Generator) -> list[Parcel]:
    """What publication does: ~0.3 % self-touching rings, a few features without a usable
    geometry (none, a line, NaN coordinates)."""
    n = len(out)
    picks = rng.permutation(n)
    bad = max(1, round(n * 0.003))
    for i in picks[:bad].tolist():
        out[i] = Parcel(out[i].id, _self_touching(out[i].geometry), out[i].units)
    odd = picks[bad : bad + max(3, n // 4000)].tolist()
    for k, i in enumerate(odd):
        c = shapely.get_coordinates(out[i].geometry)
        broken: BaseGeometry | None = None
        if k % 3 == 1:
            broken = shapely.LineString(c[:2])
        elif k % 3 == 2:
            c[1, 0] = np.nan
            with np.errstate(invalid="ignore"):
                broken = shapely.Polygon(c)
        out[i] = Parcel(out[i].id, broken, out[i].units)
    return out


def _self_touching(g: BaseGeometry | None) -> BaseGeometry:
    """The lot's outline as an ESRI-style ring touching itself: an inverted hole at vertex 0."""
    c = shapely.get_coordinates(g)[:-1]
    p0, centre = c[0], c.mean(axis=0)
    d = (centre - p0) * 0.5
    n = np.array([-d[1], d[0]]) * 0.3
    ring = [*c, p0, p0 + d + n, p0 + d - n, p0]
    return shapely.Polygon(ring)


def write(path: Path, features: list[Parcel]) -> None:
    """Write parcels to GeoPackage or GeoJSON (fields ``parcel_id``, ``units``; EPSG:4326)."""
    driver = "GPKG" if path.suffix.lower() == ".gpkg" else "GeoJSON"
    wkb = np.array(
        [None if p.geometry is None else shapely.to_wkb(p.geometry) for p in features],
        dtype=object,
    )
    pyogrio.raw.write(
        path,
        geometry=wkb,
        field_data=[np.array([p.id for p in features]), np.array([p.units for p in features])],
        fields=["parcel_id", "units"],
        crs="EPSG:4326",
        driver=driver,
        geometry_type="Unknown",
    )
