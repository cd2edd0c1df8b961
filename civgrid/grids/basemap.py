"""The street context drawn on maps without tiles (底图): roads, rivers and village names from
the territory data, clipped to an area and simplified for the zoom asked for.

Public data only (roads, rivers, division names): nothing here is about a person.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.divisions.models import Division
from civgrid.errors import NotFound
from civgrid.grids.geo import from_text
from civgrid.grids.models import DivisionBoundary, FeatureKind, TerritoryFeature

# Context kept around an area, in degrees (~150 m): roads along its edge and the way in.
MARGIN_DEG = 0.0015
# From this zoom on, lines are sent as stored (a pixel is under 1.2 m).
FULL_DETAIL_ZOOM = 17
DRAWN = (FeatureKind.RIVER, FeatureKind.ROAD)  # rivers first: roads are drawn over them


def short_name(name: str) -> str:
    """A village's name as a map shows it: 四甲村民委员会 → 四甲."""
    for suffix in ("居民委员会", "村民委员会", "委员会"):
        name = name.removesuffix(suffix)
    return name


def basemap_version(db: Session) -> str:
    """Changes whenever a feature, a boundary or a division name may have changed."""
    parts = [
        db.execute(select(func.count(TerritoryFeature.id), func.max(TerritoryFeature.id))).one(),
        db.execute(
            select(func.count(), func.max(DivisionBoundary.updated_at)).select_from(
                DivisionBoundary
            )
        ).one(),
        db.execute(select(func.count(Division.code), func.max(Division.valid_from))).one(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def tolerance_for(zoom: int | None) -> float:
    """Half a screen pixel at ``zoom``, in degrees (0: send the lines as stored)."""
    if zoom is None or zoom >= FULL_DETAIL_ZOOM:
        return 0.0
    return 360.0 / (256 * 2**zoom) / 2


def basemap(db: Session, area: str = "", zoom: int | None = None) -> dict[str, Any]:
    """Roads, rivers and village labels (inside ``area`` with a margin) as a FeatureCollection."""
    boundaries = _boundaries(db, area)
    clip = _clip_region(boundaries) if area else None
    tolerance = tolerance_for(zoom)
    features = [
        _line_feature(f, g, tolerance) for f, g in _drawn_features(db, clip) if not g.is_empty
    ]
    features += _village_labels(db, boundaries)
    return {"type": "FeatureCollection", "features": features}


def _boundaries(db: Session, area: str) -> list[DivisionBoundary]:
    if area and db.get(Division, area) is None:
        raise NotFound("unknown division %(division)s", division=area)
    query = select(DivisionBoundary).order_by(DivisionBoundary.division_code)
    if area:
        query = query.where(DivisionBoundary.division_code.startswith(area, autoescape=True))
    return list(db.scalars(query))


def _clip_region(boundaries: list[DivisionBoundary]) -> BaseGeometry:
    """The area's boundaries, merged, with the margin (empty when none is on file)."""
    shapes = [from_text(b.geometry) for b in boundaries]
    if not shapes:
        return shapely.Polygon()
    region = shapely.union_all([s.buffer(MARGIN_DEG, join_style="mitre") for s in shapes])
    shapely.prepare(region)
    return region


def _drawn_features(
    db: Session, clip: BaseGeometry | None
) -> list[tuple[TerritoryFeature, BaseGeometry]]:
    query = select(TerritoryFeature).where(TerritoryFeature.kind.in_(DRAWN))
    if clip is not None:
        if clip.is_empty:
            return []
        x0, y0, x1, y1 = clip.bounds
        query = query.where(
            TerritoryFeature.max_lon >= x0,
            TerritoryFeature.min_lon <= x1,
            TerritoryFeature.max_lat >= y0,
            TerritoryFeature.min_lat <= y1,
        )
    rows = sorted(db.scalars(query), key=lambda f: (DRAWN.index(f.kind), f.id))
    out = []
    for row in rows:
        geom = from_text(row.geometry)
        if clip is not None and not clip.contains(geom):
            geom = _same_kind(geom, geom.intersection(clip))
        out.append((row, geom))
    return out


def _same_kind(original: BaseGeometry, clipped: BaseGeometry) -> BaseGeometry:
    """The parts of a clipped line (or area) that are still lines (areas): no stray points."""
    dim = shapely.get_dimensions(original)
    parts = [p for p in shapely.get_parts(clipped) if shapely.get_dimensions(p) == dim]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _line_feature(row: TerritoryFeature, geom: BaseGeometry, tolerance: float) -> dict[str, Any]:
    if tolerance:
        geom = geom.simplify(tolerance, preserve_topology=True)
    geom = shapely.set_precision(geom, 1e-6)  # ~0.1 m: enough for any screen, half the bytes
    props: dict[str, Any] = {"kind": row.kind.value, "name": row.name}
    if row.name:
        props["label"] = _label_point(geom)
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def _label_point(geom: BaseGeometry) -> list[float]:
    """Where a line's (or an area's) name goes: half-way along its longest part."""
    parts = list(getattr(geom, "geoms", [geom]))
    longest = max(parts, key=lambda p: p.length)
    if longest.geom_type == "Polygon":
        point = longest.point_on_surface()
    else:
        point = longest.interpolate(0.5, normalized=True)
    return [round(point.x, 6), round(point.y, 6)]


def _village_labels(db: Session, boundaries: list[DivisionBoundary]) -> list[dict[str, Any]]:
    villages = [b for b in boundaries if len(b.division_code) == 12]
    codes = [b.division_code for b in villages]
    names = dict(
        db.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).all()
    )
    out = []
    for b in villages:
        shape = from_text(b.geometry)
        if shape.geom_type == "MultiPolygon":
            shape = max(shape.geoms, key=lambda p: p.area)
        point = polylabel(shape, tolerance=_polylabel_tolerance(shape))
        out.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(point.x, 6), round(point.y, 6)],
                },
                "properties": {
                    "kind": "village",
                    "code": b.division_code,
                    "name": short_name(names.get(b.division_code, b.division_code)),
                },
            }
        )
    return out


def _polylabel_tolerance(shape: BaseGeometry) -> float:
    x0, y0, x1, y1 = shape.bounds
    return max(math.hypot(x1 - x0, y1 - y0) / 100, 1e-6)
