"""Grids as GeoJSON for the map and the API, and the grid card with its extension hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.errors import NotFound
from civgrid.grids.models import DivisionBoundary, Grid, OverlayArea, OverlayCoverage, OverlayLayer

CardExtension = Callable[[Session, Grid], dict[str, Any]]
_CARD_EXTENSIONS: list[CardExtension] = []


def register_card_extension(extension: CardExtension) -> None:
    """Let another domain add fields to the grid card (the cases engine adds open cases)."""
    if extension not in _CARD_EXTENSIONS:
        _CARD_EXTENSIONS.append(extension)


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def grid_feature(grid: Grid) -> dict[str, Any]:
    """A grid as a GeoJSON Feature (geometry is stored as GeoJSON already)."""
    return {
        "type": "Feature",
        "id": grid.id,
        "geometry": json.loads(grid.geometry),
        "properties": {
            "id": grid.id,
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind.value,
            "level": grid.level,
            "village_code": grid.village_code,
            "households": grid.households,
            "population": grid.population,
            "version": grid.version,
            "valid_from": grid.valid_from.isoformat(),
        },
    }


def grid_card(db: Session, grid: Grid) -> dict[str, Any]:
    """What the map card shows: leader, members, counts, and every registered extension.

    ``open_cases`` stays None until the cases engine registers its extension.
    """
    ids = [grid.leader_id, *(m.user_id for m in grid.members)]
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
    card: dict[str, Any] = {
        "leader": names.get(grid.leader_id) if grid.leader_id else None,
        "members": [names.get(m.user_id) for m in grid.members],
        "households": grid.households,
        "population": grid.population,
        "area_m2": round(grid.area_m2),
        "kind_label": grid.kind.label_zh,
        "open_cases": None,
    }
    for extension in _CARD_EXTENSIONS:
        card.update(extension(db, grid))
    return card


def boundary_features(db: Session, user: User, prefix: str = "") -> list[dict[str, Any]]:
    """Village boundaries on file in ``user``'s territory as GeoJSON features."""
    j = scope.Jurisdiction.of(user)
    query = select(DivisionBoundary).order_by(DivisionBoundary.division_code)
    if prefix:
        query = query.where(DivisionBoundary.division_code.startswith(prefix, autoescape=True))
    rows = [b for b in db.scalars(query) if j.covers_code(b.division_code)]
    names = division_names(db, [b.division_code for b in rows])
    return [
        {
            "type": "Feature",
            "geometry": json.loads(b.geometry),
            "properties": {"code": b.division_code, "name": names.get(b.division_code, "")},
        }
        for b in rows
    ]


def division_names(db: Session, codes: list[str]) -> dict[str, str]:
    from civgrid.divisions.models import Division

    return dict(
        db.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).all()
    )


def get_overlay_layer(db: Session, user: User, code: str) -> OverlayLayer:
    layer = db.scalar(
        scope.restrict(select(OverlayLayer), user, "view").where(OverlayLayer.code == code)
    )
    if layer is None:
        raise NotFound(f"overlay layer {code} not found")
    return layer


def overlay_features(db: Session, layer: OverlayLayer) -> list[dict[str, Any]]:
    """A layer's areas as GeoJSON features, each with the grid codes it covers and fractions."""
    rows = db.execute(
        select(OverlayCoverage.area_id, Grid.code, OverlayCoverage.fraction)
        .join(Grid, Grid.id == OverlayCoverage.grid_id)
        .join(OverlayArea, OverlayArea.id == OverlayCoverage.area_id)
        .where(OverlayArea.layer_id == layer.id, Grid.valid_to.is_(None))
        .order_by(Grid.code)
    ).all()
    covers: dict[int, list[dict[str, Any]]] = {}
    for area_id, code, fraction in rows:
        covers.setdefault(area_id, []).append({"grid": code, "fraction": round(fraction, 4)})
    return [
        {
            "type": "Feature",
            "geometry": json.loads(a.geometry),
            "properties": {"code": a.code, "name": a.name, "grids": covers.get(a.id, [])},
        }
        for a in layer.areas
    ]
