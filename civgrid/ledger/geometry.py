"""Geometry cells of the ledger: a building's footprint (polygon) and a component's line.

A cell holds WKT (``POLYGON ((113.805 23.095, …))``) or GeoJSON text (a geometry or a
Feature); the API may also send a GeoJSON object. What is kept is GeoJSON text, full
precision; sheets and forms show WKT, which reads back to the same coordinates, so a file
exported and imported again changes nothing. A blank cell means "no footprint / no line"
(the record's point stands for it).

Bad geometry is refused, never repaired behind the user's back: a self-intersecting polygon
(a "bowtie") is ambiguous, and ``make_valid`` would turn it into pieces nobody drew, so the
message says where it crosses and what the repair would give.
"""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
import shapely.ops
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity, make_valid

from civgrid.grids.geo import from_text, to_text
from civgrid.ledger.schemas import LAT_RANGE, LON_RANGE, CellError
from civgrid.web.i18n import N_

MAX_CHARS = 100_000
MAX_POINTS = 5000
MAX_OFFSET_M = 1000.0  # how far a footprint or line may lie from the record's own point
POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")


def _parse(value: Any) -> BaseGeometry:
    """A geometry from WKT, GeoJSON text or a GeoJSON object; CellError if none of them."""
    try:
        if isinstance(value, dict):
            data = value
        else:
            text = str(value).strip()
            if len(text) > MAX_CHARS:
                raise CellError(N_("longer than %(limit)s characters"), limit=MAX_CHARS)
            if not text.startswith("{"):
                return shapely.from_wkt(text)
            data = json.loads(text)
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry") or {}
        return shape(data)
    except CellError:
        raise
    except (shapely.errors.ShapelyError, ValueError, TypeError, KeyError, AttributeError):
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
        raise CellError(
            N_("not a geometry (write WKT such as %(example)s, or GeoJSON): %(value)s"),
            example="POLYGON ((113.805 23.095, 113.806 23.095, 113.806 23.096, 113.805 23.095))",
            value=shown.strip()[:40],
        ) from None


def _check_coordinates(geom: BaseGeometry) -> None:
    coords = shapely.get_coordinates(geom)
    if len(coords) > MAX_POINTS:
        raise CellError(N_("more than %(limit)s points"), limit=MAX_POINTS)
    xs, ys = coords[:, 0], coords[:, 1]

    def inside(values: Any, bounds: tuple[float, float]) -> bool:
        return bool(((values >= bounds[0]) & (values <= bounds[1])).all())

    if inside(xs, LON_RANGE) and inside(ys, LAT_RANGE):
        return
    x, y = float(xs[0]), float(ys[0])
    if inside(xs, LAT_RANGE) and inside(ys, LON_RANGE):
        raise CellError(
            N_("the coordinates are latitude, longitude (%(x)s %(y)s): write longitude first"),
            x=f"{x:.10g}",
            y=f"{y:.10g}",
        )
    raise CellError(
        N_("a point (%(x)s %(y)s) is outside longitude 73–136, latitude 3–54"),
        x=f"{x:.10g}",
        y=f"{y:.10g}",
    )


def _check_valid(geom: BaseGeometry) -> None:
    if geom.is_valid:
        return
    reason = explain_validity(geom)
    repaired = make_valid(geom)
    parts = len(getattr(repaired, "geoms", [repaired]))
    raise CellError(
        N_(
            "not a valid shape (%(reason)s); repaired, it would become %(repaired)s of "
            "%(parts)s parts: redraw it"
        ),
        reason=reason,
        repaired=repaired.geom_type,
        parts=parts,
    )


def read_geometry(value: Any, allowed: tuple[str, ...]) -> str | None:
    """A cell read as a geometry of the ``allowed`` types: GeoJSON text, None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    geom = _parse(value)
    if geom.is_empty:
        raise CellError(N_("the geometry is empty: give its points or leave the cell blank"))
    if geom.geom_type not in allowed:
        raise CellError(
            N_("a %(allowed)s is wanted here, not a %(type)s"),
            allowed=" / ".join(allowed),
            type=geom.geom_type,
        )
    geom = shapely.force_2d(geom)
    _check_coordinates(geom)
    _check_valid(geom)
    return to_text(geom)


def as_wkt(value: Any) -> str:
    """Kept GeoJSON text shown as WKT (full precision: it reads back the same); "" for none."""
    if not value:
        return ""
    return shapely.to_wkt(from_text(str(value)), rounding_precision=-1)


def as_geojson(value: Any) -> dict[str, Any] | None:
    """Kept GeoJSON text as an object, for the API."""
    return json.loads(value) if value else None


def offset_m(text: str, lon: float, lat: float) -> float:
    """How far, in metres, the kept geometry lies from the point (0 if it contains it)."""
    geom = from_text(text)
    nearest = shapely.ops.nearest_points(geom, Point(lon, lat))[0]
    dx = (nearest.x - lon) * 111_320 * math.cos(math.radians(lat))
    dy = (nearest.y - lat) * 110_574
    return math.hypot(dx, dy)


def check_near_point(text: str | None, lon: Any, lat: Any) -> CellError | None:
    """An error if the geometry lies far from the record's own point (a typo, swapped axes)."""
    if not text or not isinstance(lon, float) or not isinstance(lat, float):
        return None
    distance = offset_m(text, lon, lat)
    if distance <= MAX_OFFSET_M:
        return None
    return CellError(
        N_("the geometry lies %(km)s km from the record's point (%(lon)s, %(lat)s): check it"),
        km=f"{distance / 1000:.1f}",
        lon=f"{lon:g}",
        lat=f"{lat:g}",
    )
