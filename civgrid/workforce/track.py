"""A patrol track's geometry: plausibility, distance, time inside, stops, simplification.

Lengths are measured in the UTM zone of the track (a metric CRS), not in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import shapely
from pyproj import Transformer
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

STOP_RADIUS_M = 30.0
STOP_MIN_S = 180.0
SIMPLIFY_M = 5.0
JITTER_M = 50.0  # a jump shorter than this is GPS noise, not a speed spike


@dataclass(frozen=True)
class Fix:
    """One position: epoch seconds, lon, lat (WGS84)."""

    t: float
    lon: float
    lat: float


@dataclass
class Summary:
    distance_m: float = 0.0
    duration_s: float = 0.0
    inside_s: float = 0.0
    stops: list[dict[str, Any]] = field(default_factory=list)
    track: list[list[float]] = field(default_factory=list)


def haversine_m(a: Fix, b: Fix) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def too_fast(a: Fix, b: Fix, max_speed_kmh: float) -> bool:
    """Whether going from ``a`` to ``b`` needs more than the speed limit (noise aside)."""
    d = haversine_m(a, b)
    if d <= JITTER_M:
        return False
    dt = abs(b.t - a.t)
    return dt == 0 or d / dt * 3.6 > max_speed_kmh


def outside(fix: Fix, bounds: tuple[float, float, float, float], margin_m: float) -> bool:
    """Whether ``fix`` lies more than ``margin_m`` outside the (lon/lat) bounds of the grids."""
    min_lon, min_lat, max_lon, max_lat = bounds
    dlat = margin_m / 110_574
    dlon = margin_m / (111_320 * max(math.cos(math.radians(fix.lat)), 0.01))
    return not (
        min_lon - dlon <= fix.lon <= max_lon + dlon and min_lat - dlat <= fix.lat <= max_lat + dlat
    )


@lru_cache(maxsize=64)
def _to_metric(zone: int, north: bool) -> Transformer:
    epsg = (32600 if north else 32700) + zone
    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


def _zone(fixes: Sequence[Fix]) -> tuple[int, bool]:
    lon = sum(f.lon for f in fixes) / len(fixes)
    lat = sum(f.lat for f in fixes) / len(fixes)
    return int((lon + 180) // 6) % 60 + 1, lat >= 0


def summarise(fixes: Sequence[Fix], grids: BaseGeometry | None) -> Summary:
    """Distance, duration, time inside ``grids``, stops and the simplified track of ``fixes``."""
    fixes = sorted(fixes, key=lambda f: f.t)
    if not fixes:
        return Summary()
    zone = _zone(fixes)
    xs, ys = _to_metric(*zone).transform([f.lon for f in fixes], [f.lat for f in fixes])
    xy = list(zip(xs, ys, strict=True))
    out = Summary(duration_s=fixes[-1].t - fixes[0].t)
    out.distance_m = sum(math.dist(xy[i], xy[i + 1]) for i in range(len(xy) - 1))
    if grids is not None and not grids.is_empty:
        inside = shapely.contains_xy(grids, [f.lon for f in fixes], [f.lat for f in fixes])
        out.inside_s = sum(
            fixes[i + 1].t - fixes[i].t
            for i in range(len(fixes) - 1)
            if inside[i] and inside[i + 1]
        )
    out.stops = _stops(fixes, xy)
    out.track = _simplified(fixes, xy)
    return out


def _stops(fixes: Sequence[Fix], xy: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """Runs of positions within ``STOP_RADIUS_M`` of their first that last ``STOP_MIN_S``."""
    stops: list[dict[str, Any]] = []
    i = 0
    while i < len(fixes):
        j = i
        while j + 1 < len(fixes) and math.dist(xy[i], xy[j + 1]) <= STOP_RADIUS_M:
            j += 1
        if fixes[j].t - fixes[i].t >= STOP_MIN_S:
            run = fixes[i : j + 1]
            stops.append(
                {
                    "lon": round(sum(f.lon for f in run) / len(run), 6),
                    "lat": round(sum(f.lat for f in run) / len(run), 6),
                    "from": fixes[i].t,
                    "to": fixes[j].t,
                }
            )
            i = j + 1
        else:
            i += 1
    return stops


def _simplified(fixes: Sequence[Fix], xy: Sequence[tuple[float, float]]) -> list[list[float]]:
    """The track simplified in metres (Douglas–Peucker), each kept vertex with its time."""
    if len(xy) < 3:
        return [[f.lon, f.lat, f.t] for f in fixes]
    simple = LineString(xy).simplify(SIMPLIFY_M, preserve_topology=False)
    # Douglas–Peucker keeps original vertices: find them back to keep their times.
    keep = {(round(x, 6), round(y, 6)) for x, y in simple.coords}
    return [
        [round(f.lon, 6), round(f.lat, 6), f.t]
        for f, (x, y) in zip(fixes, xy, strict=True)
        if (round(x, 6), round(y, 6)) in keep
    ]
