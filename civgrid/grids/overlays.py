"""State changes of the territory around the grids: village boundaries, roads and protected
sites, and overlay layers mapped onto grids. Same rules as ``actions``: check, audit, commit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.db.base import utcnow
from civgrid.divisions.models import Division
from civgrid.errors import Invalid
from civgrid.grids.actions import authorise, polygon
from civgrid.grids.geo import from_text, shape_columns
from civgrid.grids.models import (
    DivisionBoundary,
    FeatureKind,
    Grid,
    OverlayArea,
    OverlayCoverage,
    OverlayLayer,
    TerritoryFeature,
)


def set_division_boundary(
    db: Session, division_code: str, geometry: BaseGeometry, *, actor: User | None
) -> DivisionBoundary:
    """Store the surveyed boundary of a division (replacing any earlier one)."""
    authorise(actor, division_code)
    if db.get(Division, division_code) is None:
        raise Invalid(f"unknown division code {division_code}")
    geom = polygon(geometry, division_code)
    row = db.get(DivisionBoundary, division_code) or DivisionBoundary(division_code=division_code)
    for k, v in shape_columns(geom).items():
        setattr(row, k, v)
    row.updated_at = utcnow()
    db.add(row)
    record(db, "division.boundary", actor=actor, object_type="division", object_id=division_code)
    db.commit()
    return row


def replace_features(
    db: Session,
    territory_code: str,
    features: Sequence[tuple[FeatureKind, str, BaseGeometry]],
    *,
    actor: User | None,
    kinds: Collection[FeatureKind] | None = None,
) -> int:
    """Replace the roads, rivers and protected sites filed under a territory code (with
    ``kinds``, only the features of those kinds)."""
    authorise(actor, territory_code)
    old = delete(TerritoryFeature).where(TerritoryFeature.territory_code == territory_code)
    if kinds is not None:
        old = old.where(TerritoryFeature.kind.in_(list(kinds)))
    db.execute(old)
    for kind, name, geom in features:
        db.add(
            TerritoryFeature(
                kind=kind, name=name, territory_code=territory_code, **shape_columns(geom)
            )
        )
    record(
        db,
        "territory.features",
        actor=actor,
        object_type="division",
        object_id=territory_code,
        detail={"count": len(features)},
    )
    db.commit()
    return len(features)


# The geometry each kind of feature may have: roads are lines; a river is its line or its water.
_SHAPES = {
    FeatureKind.ROAD: ("LineString", "MultiLineString"),
    FeatureKind.RIVER: ("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    FeatureKind.PROTECTED: ("Polygon", "MultiPolygon"),
}


def import_features(
    db: Session,
    territory_code: str,
    rows: Sequence[tuple[str, BaseGeometry, dict[str, Any]]],
    *,
    kind: FeatureKind | None = None,
    kind_field: str = "kind",
    name_field: str = "name",
    actor: User | None,
) -> dict[FeatureKind, int]:
    """Import roads, rivers (and protected sites) read from a GIS file, all or nothing: the
    features of the kinds in the file replace those filed under ``territory_code``. ``kind``
    gives every feature one kind; otherwise ``kind_field`` names it (road, river, protected)."""
    if db.get(Division, territory_code) is None:
        raise Invalid(f"unknown division code {territory_code}")
    features = [
        _feature(label, geom, attrs, kind, kind_field, name_field) for label, geom, attrs in rows
    ]
    if not features:
        raise Invalid("the file has no features")
    kinds = {k for k, _n, _g in features}
    replace_features(db, territory_code, features, actor=actor, kinds=kinds)
    return {
        k: sum(1 for f in features if f[0] is k) for k in sorted(kinds, key=list(FeatureKind).index)
    }


def _feature(
    label: str,
    geom: BaseGeometry,
    attrs: dict[str, Any],
    kind: FeatureKind | None,
    kind_field: str,
    name_field: str,
) -> tuple[FeatureKind, str, BaseGeometry]:
    if kind is None:
        value = str(attrs.get(kind_field) or "").strip().lower()
        try:
            kind = FeatureKind(value)
        except ValueError:
            allowed = ", ".join(k.value for k in FeatureKind)
            raise Invalid(f"{label}: kind {value!r} is not one of {allowed}") from None
    if geom.geom_type not in _SHAPES[kind]:
        raise Invalid(f"{label}: a {kind.value} cannot be a {geom.geom_type}")
    name = str(attrs.get(name_field) or "").strip()
    if len(name) > 100:
        raise Invalid(f"{label}: the name is longer than 100 characters")
    return kind, name, geom


def import_overlay_layer(
    db: Session,
    *,
    code: str,
    name: str,
    areas: Sequence[tuple[str, str, BaseGeometry]],
    department_code: str | None = None,
    actor: User | None,
) -> OverlayLayer:
    """Create or replace an overlay layer (e.g. police service areas) and map it onto grids."""
    if actor is not None:
        scope.check_role(actor, OverlayLayer, "change")
    seen: set[str] = set()
    for area_code, area_name, geom in areas:
        polygon(geom, f"overlay area {area_code} ({area_name})")
        if area_code in seen:
            raise Invalid(f"overlay area code {area_code} appears twice")
        seen.add(area_code)
    layer = db.scalar(select(OverlayLayer).where(OverlayLayer.code == code))
    if layer is None:
        layer = OverlayLayer(code=code, name=name, department_code=department_code)
        db.add(layer)
    layer.name, layer.department_code = name, department_code
    layer.areas = [OverlayArea(code=c, name=n, **shape_columns(g)) for c, n, g in areas]
    db.flush()
    for area, (_c, _n, geom) in zip(layer.areas, areas, strict=True):
        _map_area(db, area, geom)
    record(
        db,
        "overlay.import",
        actor=actor,
        object_type="overlay_layer",
        object_id=code,
        detail={"areas": len(areas)},
    )
    db.commit()
    return layer


def _map_area(db: Session, area: OverlayArea, geom: BaseGeometry) -> None:
    """Coverage fractions of ``area`` over the current grids it touches."""
    x0, y0, x1, y1 = geom.bounds
    grids = db.scalars(
        select(Grid).where(
            Grid.valid_to.is_(None),
            Grid.max_lon >= x0,
            Grid.min_lon <= x1,
            Grid.max_lat >= y0,
            Grid.min_lat <= y1,
        )
    )
    for grid in grids:
        g = from_text(grid.geometry)
        share = g.intersection(geom).area / g.area if g.area else 0.0
        if share > 1e-6:
            db.add(OverlayCoverage(area_id=area.id, grid_id=grid.id, fraction=min(share, 1.0)))
