"""Geometry helpers: GeoJSON text ↔ shapely, bounding boxes, metric areas, GCJ-02 → WGS84."""

from __future__ import annotations

import json
import math
from typing import Any

from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from civgrid.grids.checks import local_projector

# GCJ-02 ("Mars coordinates") is WGS84 plus a published-by-reverse-engineering offset on the
# Krasovsky 1940 ellipsoid; Chinese map apps (Amap, Tencent) give points in it.
_A = 6378245.0
_EE = 0.00669342162296594323


def to_text(geom: BaseGeometry) -> str:
    """GeoJSON text of a geometry, full precision (rounding would open cm-wide slivers
    between grids and their village boundary)."""
    return json.dumps(mapping(geom), separators=(",", ":"))


def from_text(text: str) -> BaseGeometry:
    """The shapely geometry of stored GeoJSON text."""
    return shape(json.loads(text))


def shape_columns(geom: BaseGeometry) -> dict[str, Any]:
    """The geometry and bounding-box column values of a ``_Shape`` row."""
    x0, y0, x1, y1 = geom.bounds
    return {"geometry": to_text(geom), "min_lon": x0, "min_lat": y0, "max_lon": x1, "max_lat": y1}


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres (local equal-area projection)."""
    return float(local_projector(geom)(geom).area)


def _offset(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    s = 20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += s * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += s * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlon, dlat


def in_china(lon: float, lat: float) -> bool:
    """The rough box where GCJ-02 applies (outside it GCJ-02 equals WGS84)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 lon/lat → GCJ-02 lon/lat."""
    if not in_china(lon, lat):
        return lon, lat
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 lon/lat → WGS84 lon/lat (iterated to ~1 mm; the forward map has no closed inverse)."""
    if not in_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < 1e-9 and abs(dlat) < 1e-9:
            break
    return wlon, wlat
