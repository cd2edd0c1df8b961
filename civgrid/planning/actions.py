"""State changes of proposals: propose, nudge (微调), accept (采纳, files grid versions), discard.

Each checks the actor (administrators of the village's territory), changes one proposal and
writes an audit event. Accepting adjusts, creates and retires grids through the grids
domain's actions, so every change is a filed version and old versions are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import shapely
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Invalid, NotFound
from civgrid.grids.actions import GridDraft, add_grid, adjust_grid, polygon, retire_grid
from civgrid.grids.models import Grid, GridKind
from civgrid.planning.divide import Proposal, divide_village
from civgrid.planning.inputs import Unit, repair_units
from civgrid.planning.models import GridProposal, ProposalStatus
from civgrid.planning.nudge import regroup
from civgrid.planning.report import check_proposal
from civgrid.planning.service import (
    assignment_of,
    dump_inputs,
    dump_result,
    load_inputs,
    result_of,
    territory_inputs,
)


def _authorise(actor: User | None, village_code: str) -> None:
    if actor is None:
        return
    scope.check_role(actor, GridProposal, "change")
    if not scope.Jurisdiction.of(actor).covers_code(village_code):
        raise NotFound(f"{village_code} not found")


def _band() -> tuple[int, int]:
    s = get_settings()
    return s.grid_households_min, s.grid_households_max


def propose_grids(
    db: Session,
    village_code: str,
    units: Sequence[Unit],
    *,
    actor: User | None,
    band: tuple[int, int] | None = None,
    kind: str = "comprehensive",
    exclusive: Sequence[str] = (),
) -> GridProposal:
    """Divide a village (自动划分) from its stored boundary, roads and sites; store the proposal."""
    _authorise(actor, village_code)
    boundary, roads, sites = territory_inputs(db, village_code)
    if boundary is None:
        raise Invalid(f"no boundary is stored for village {village_code}", field="village_code")
    band = band or _band()
    digits = get_settings().grid_sequence_digits
    try:
        proposal = divide_village(
            village_code,
            boundary,
            units,
            roads=roads,
            protected=sites,
            exclusive=exclusive,
            band=band,
            kind=kind,
            digits=digits,
        )
        result = _result(proposal, boundary, roads, sites)
    except shapely.errors.GEOSException as exc:  # the planner answers 4xx, never 500
        raise Invalid(
            "the geometry of the units could not be divided; check the file for broken shapes",
            detail=str(exc)[:200],
        ) from exc
    row = GridProposal(
        village_code=village_code,
        status=ProposalStatus.DRAFT,
        band_min=band[0],
        band_max=band[1],
        kind=kind,
        inputs=dump_inputs(boundary, repair_units(units)[0], roads, sites, exclusive),
        assignment=json.dumps(proposal.unit_grid),
        result=result,
        created_by_id=actor.id if actor else None,
    )
    db.add(row)
    db.flush()
    record(
        db,
        "planning.propose",
        actor=actor,
        object_type="grid_proposal",
        object_id=row.id,
        detail={"village": village_code, "grids": len(proposal.grids)},
    )
    db.commit()
    return row


def _result(proposal: Proposal, boundary: object, roads: list, sites: list) -> str:
    checks = check_proposal(proposal, boundary, roads=roads, protected=sites)  # type: ignore[arg-type]
    return dump_result(proposal, checks)


def _draft(proposal: GridProposal) -> None:
    if proposal.status != ProposalStatus.DRAFT:
        raise Conflict(f"proposal {proposal.id} is {proposal.status.value}, not a draft")


def nudge_proposal(
    db: Session, proposal: GridProposal, *, unit_id: str, to_code: str, actor: User | None
) -> GridProposal:
    """Move one unit to a neighbouring grid (微调) and recompute the grids and the checks."""
    _authorise(actor, proposal.village_code)
    _draft(proposal)
    boundary, units, roads, sites, exclusive = load_inputs(proposal)
    result = regroup(
        proposal.village_code,
        boundary,
        units,
        assignment_of(proposal),
        roads=roads,
        protected=sites,
        exclusive=exclusive,
        band=(proposal.band_min, proposal.band_max),
        kind=proposal.kind,
        digits=get_settings().grid_sequence_digits,
        move=(unit_id, to_code),
    )
    proposal.assignment = json.dumps(result.unit_grid)
    proposal.result = _result(result, boundary, roads, sites)
    proposal.revision += 1
    record(
        db,
        "planning.nudge",
        actor=actor,
        object_type="grid_proposal",
        object_id=proposal.id,
        detail={"unit": unit_id, "to": to_code, "revision": proposal.revision},
    )
    db.commit()
    return proposal


def accept_proposal(
    db: Session, proposal: GridProposal, *, actor: User | None, note: str
) -> list[Grid]:
    """Accept a proposal (采纳): the village's grids become the proposed ones, each change a
    filed version (adjusted, created or retired); old versions stay on file."""
    _authorise(actor, proposal.village_code)
    _draft(proposal)
    if not note.strip():
        raise Invalid("accepting a division needs a note saying why", field="note")
    features = result_of(proposal)["features"]
    shapes = {
        f["properties"]["code"]: polygon(shape(f["geometry"]), f["properties"]["code"])
        for f in features
    }
    current = {
        g.code: g
        for g in db.scalars(
            select(Grid).where(
                Grid.village_code == proposal.village_code, Grid.valid_to.is_(None), Grid.level == 1
            )
        )
    }
    proposal.status = ProposalStatus.ACCEPTED
    proposal.decided_at = utcnow()
    proposal.decided_by_id = actor.id if actor else None
    proposal.note = note
    record(
        db,
        "planning.accept",
        actor=actor,
        object_type="grid_proposal",
        object_id=proposal.id,
        detail={"village": proposal.village_code, "grids": len(features)},
    )
    filing = f"division proposal {proposal.id} accepted: {note}"
    out = []
    try:  # one transaction: the whole new division is filed, or nothing is
        for f in features:
            p = f["properties"]
            kind = (
                GridKind(p["kind"])
                if p["kind"] in {k.value for k in GridKind}
                else GridKind.COMPREHENSIVE
            )
            if p["code"] in current:
                grid = adjust_grid(
                    db,
                    current.pop(p["code"]),
                    actor=actor,
                    note=filing,
                    commit=False,
                    geometry=shapes[p["code"]],
                    households=p["households"],
                    kind=kind,
                )
            else:
                name = f"{proposal.village_code[-3:]}第{int(p['code'][12:])}网格"
                draft = GridDraft(
                    proposal.village_code,
                    shapes[p["code"]],
                    name,
                    p["households"],
                    kind=kind,
                    code=p["code"],
                )
                grid = add_grid(db, draft, actor=actor, note=filing)
            out.append(grid)
        for grid in current.values():
            retire_grid(db, grid, actor=actor, note=filing, commit=False)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return out


def discard_proposal(db: Session, proposal: GridProposal, *, actor: User | None) -> GridProposal:
    """Discard a draft proposal (kept on file)."""
    _authorise(actor, proposal.village_code)
    _draft(proposal)
    proposal.status = ProposalStatus.DISCARDED
    proposal.decided_at = utcnow()
    proposal.decided_by_id = actor.id if actor else None
    record(db, "planning.discard", actor=actor, object_type="grid_proposal", object_id=proposal.id)
    db.commit()
    return proposal
