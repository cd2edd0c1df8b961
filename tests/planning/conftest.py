"""Fixtures of the planning tests: small villages in metres around a fixed point."""

from __future__ import annotations

import math

import shapely
from shapely.geometry.base import BaseGeometry

LON0, LAT0 = 113.75, 23.05
KX = 111_320.0 * math.cos(math.radians(LAT0))
KY = 110_574.0


def wgs(geom: BaseGeometry) -> BaseGeometry:
    """Metres east/north of (LON0, LAT0) → WGS84."""
    return shapely.transform(geom, lambda xy: xy / [KX, KY] + [LON0, LAT0])
