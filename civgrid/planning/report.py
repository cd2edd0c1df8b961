"""The six-check report of a proposal (via ``civgrid.grids.checks``) and its files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from civgrid.errors import Invalid
from civgrid.grids.checks import GridShape, ProtectedSite, VillageReport, check_village
from civgrid.planning.divide import Proposal


def check_proposal(
    proposal: Proposal,
    boundary: BaseGeometry,
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
) -> VillageReport:
    """The six division checks on a proposal (the same checks as for stored grids)."""
    shapes = [GridShape(g.code, g.geometry, g.households, g.kind) for g in proposal.grids]
    return check_village(boundary, shapes, roads=roads, protected=protected, band=proposal.band)


def proposal_report(proposal: Proposal, checks: VillageReport) -> dict[str, Any]:
    """A JSON-ready report: summary, explanations, and per grid the checks and compactness."""
    pp = [g.polsby_popper for g in proposal.grids]
    return {
        "village": proposal.village_code,
        "band": list(proposal.band),
        "kind": proposal.kind,
        "seconds": round(proposal.seconds, 3),
        "summary": {
            "grids": len(proposal.grids),
            "households": sum(g.households for g in proposal.grids),
            "in_band_share": round(proposal.in_band_share(), 4),
            "contiguous_share": round(np.mean([g.contiguous for g in proposal.grids]), 4),
            "polsby_popper_median": round(float(np.median(pp)), 4) if pp else 0.0,
            "checks_ok": checks.ok,
        },
        "explanations": [e.to_dict() for e in proposal.explanations],
        "input": proposal.notes.to_dict(),
        "checks": checks.to_dict(),
    }


def write_proposals(path: Path, proposals: Sequence[Proposal]) -> int:
    """Write the proposed grids to GeoJSON (.geojson/.json) or GeoPackage (.gpkg), WGS84."""
    grids = [(p, g) for p in proposals for g in p.grids]
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        features = [
            {
                "type": "Feature",
                "geometry": mapping(shapely.set_precision(g.geometry, 1e-7)),
                "properties": _properties(p, g),
            }
            for p, g in grids
        ]
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        return len(features)
    if suffix != ".gpkg":
        raise Invalid(f"{path.name}: write .geojson or .gpkg, not {suffix or 'no suffix'}")
    rows = [_properties(p, g) for p, g in grids]
    names = list(rows[0]) if rows else []
    fields = [np.array([r[n] for r in rows]) for n in names]
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(shapely.multipolygons([_polygons(g.geometry) for _p, g in grids])),
        field_data=fields,
        fields=names,
        crs="EPSG:4326",
        driver="GPKG",
        geometry_type="MultiPolygon",
    )
    return len(rows)


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    return list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]


def _properties(p: Proposal, g: Any) -> dict[str, Any]:
    return {
        "code": g.code,
        "village_code": p.village_code,
        "kind": g.kind,
        "households": g.households,
        "units": len(g.unit_ids),
        "sites": ",".join(g.sites),
        "polsby_popper": round(g.polsby_popper, 4),
    }
