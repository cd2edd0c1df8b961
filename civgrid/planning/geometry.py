"""Overlay operations that do not fail on real data.

Unions of clipped Voronoi cells, lattices of rectangles with shared edges and corners, and
repaired parcels all meet GEOS's robustness limits now and then ("TopologyException: side
location conflict", "Overlay input is mixed-dimension"). Each operation here tries the exact
operation first, then the same on a 1 cm precision grid (snap rounding, which GEOS guarantees
to succeed on valid input), then on repaired inputs, and always returns the polygonal part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

GRID_M = 0.01  # snap-rounding grid of the fallbacks, in metres (metric frames only)
POLYGONAL = ("Polygon", "MultiPolygon")


def polygonal(g: BaseGeometry | None) -> BaseGeometry:
    """The polygonal part of ``g``, valid (lines and points dropped; empty if none)."""
    if g is None or g.is_empty:
        return shapely.Polygon()
    if not g.is_valid:
        g = shapely.make_valid(g)
    if g.geom_type in POLYGONAL:
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in POLYGONAL and p.area > 0]
    if not parts:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    return _union(
        lambda: shapely.union_all(parts), lambda: shapely.union_all(parts, grid_size=GRID_M)
    )


def union(geoms: Sequence[BaseGeometry] | np.ndarray, *, coverage: bool = False) -> BaseGeometry:
    """The union of polygons; ``coverage`` when they tile without overlapping (faster)."""
    arr = np.asarray([g for g in geoms if g is not None and not g.is_empty], dtype=object)
    if len(arr) == 0:
        return shapely.Polygon()
    if len(arr) == 1:
        return polygonal(arr[0])
    steps: list[Callable[[], BaseGeometry]] = []
    if coverage:
        steps.append(lambda: shapely.coverage_union_all(arr))
    steps += [
        lambda: shapely.union_all(arr),
        lambda: shapely.union_all(arr, grid_size=GRID_M),
        lambda: shapely.union_all([polygonal(g) for g in arr], grid_size=GRID_M),
    ]
    return _union(*steps)


def overlay(op: str, a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    """``a`` op ``b`` (``intersection``, ``difference`` or ``union``), polygonal."""
    fn = getattr(shapely, op)
    return _union(
        lambda: fn(a, b),
        lambda: fn(a, b, grid_size=GRID_M),
        lambda: fn(polygonal(a), polygonal(b), grid_size=GRID_M),
    )


def _union(*steps: Callable[[], BaseGeometry]) -> BaseGeometry:
    for k, step in enumerate(steps):
        try:
            out = step()
        except shapely.errors.GEOSException:
            if k == len(steps) - 1:
                raise
            continue
        if out.geom_type in POLYGONAL and out.is_valid:
            return out
        fixed = polygonal(out) if k == len(steps) - 1 else _only_polygons(out)
        if fixed is not None:
            return fixed
    raise AssertionError("unreachable")  # pragma: no cover


def _only_polygons(g: BaseGeometry) -> BaseGeometry | None:
    """The polygonal part of a valid result with stray lines; None if it needs repair."""
    if not g.is_valid:
        return None
    parts = [p for p in shapely.get_parts(g) if p.geom_type in POLYGONAL]
    if g.geom_type == "GeometryCollection" and parts:
        try:
            return shapely.union_all(parts)
        except shapely.errors.GEOSException:
            return None
    return g if g.geom_type in POLYGONAL else shapely.Polygon()
