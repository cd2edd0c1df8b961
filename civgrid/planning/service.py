"""Queries and (de)serialisation of stored proposals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.grids.checks import ProtectedSite, VillageReport
from civgrid.grids.geo import from_text
from civgrid.grids.service import features_near, village_boundary
from civgrid.planning.divide import Proposal
from civgrid.planning.inputs import Unit
from civgrid.planning.models import GridProposal
from civgrid.planning.report import proposal_report

# Staff of the territory see proposals; only administrators propose, nudge and accept.
scope.register(
    GridProposal,
    roles={"view": scope.STAFF, "change": {Role.ADMIN}},
    condition=scope.by_code_prefix(GridProposal.village_code),
)


def proposals_for(db: Session, user: User, village_code: str) -> Sequence[GridProposal]:
    """The proposals of a village, newest first, within the user's territory."""
    query = scope.restrict(select(GridProposal), user, "view").where(
        GridProposal.village_code == village_code
    )
    return db.scalars(query.order_by(GridProposal.id.desc())).all()


def territory_inputs(
    db: Session, village_code: str
) -> tuple[BaseGeometry | None, list[BaseGeometry], list[ProtectedSite]]:
    """The stored boundary of a village and the roads, rivers and protected sites inside it."""
    row = village_boundary(db, village_code)
    if row is None:
        return None, [], []
    boundary = from_text(row.geometry)
    roads, sites = features_near(db, boundary, inside=True)
    return boundary, roads, sites


def dump_inputs(
    boundary: BaseGeometry,
    units: Sequence[Unit],
    roads: Sequence[BaseGeometry],
    sites: Sequence[ProtectedSite],
    exclusive: Sequence[str],
) -> str:
    """The inputs of a division as JSON text (so nudges can rebuild the grids)."""
    return json.dumps(
        {
            "boundary": mapping(boundary),
            "units": [[u.id, u.households, mapping(u.geometry)] for u in units],
            "roads": [mapping(r) for r in roads],
            "sites": [[s.name, mapping(s.geometry)] for s in sites],
            "exclusive": list(exclusive),
        }
    )


def load_inputs(
    proposal: GridProposal,
) -> tuple[BaseGeometry, list[Unit], list[BaseGeometry], list[ProtectedSite], list[str]]:
    """The inputs stored with a proposal."""
    data = json.loads(proposal.inputs)
    return (
        shape(data["boundary"]),
        [Unit(i, shape(g), h) for i, h, g in data["units"]],
        [shape(r) for r in data["roads"]],
        [ProtectedSite(n, shape(g)) for n, g in data["sites"]],
        list(data["exclusive"]),
    )


def dump_result(proposal: Proposal, checks: VillageReport) -> str:
    """The grids (GeoJSON features), explanations and report as JSON text."""
    features = [
        {
            "type": "Feature",
            "geometry": mapping(g.geometry),
            "properties": {
                "code": g.code,
                "kind": g.kind,
                "households": g.households,
                "units": len(g.unit_ids),
                "sites": g.sites,
                "polsby_popper": round(g.polsby_popper, 4),
            },
        }
        for g in proposal.grids
    ]
    return json.dumps(
        {"type": "FeatureCollection", "features": features, **proposal_report(proposal, checks)}
    )


def result_of(proposal: GridProposal) -> dict[str, Any]:
    """The stored result of a proposal."""
    data: dict[str, Any] = json.loads(proposal.result)
    return data


def assignment_of(proposal: GridProposal) -> dict[str, str]:
    """Unit id → grid code of the proposal's current revision."""
    data: dict[str, str] = json.loads(proposal.assignment)
    return data
