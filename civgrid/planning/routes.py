"""Planning HTTP: proposals as JSON under /api/v1/planning, pages under /planning."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.db.session import get_db
from civgrid.errors import Invalid, NotFound
from civgrid.planning import actions, service
from civgrid.planning.inputs import DivisionInputError, parse_band
from civgrid.planning.models import GridProposal
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1/planning", tags=["planning"], responses=AUTHENTICATED)
pages = APIRouter(prefix="/planning", include_in_schema=False)

DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(current_user)]


def _payload(p: GridProposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "village_code": p.village_code,
        "status": p.status.value,
        "revision": p.revision,
        "band": [p.band_min, p.band_max],
        **service.result_of(p),
    }


@api.get("/proposals/{proposal_id}")
def get_proposal(proposal_id: int, db: DB, user: CurrentUser) -> dict[str, Any]:
    """A proposal: its grids (GeoJSON), explanations and six-check report."""
    return _payload(scope.get_for(db, user, GridProposal, proposal_id, "view"))


@api.get("/proposals/{proposal_id}/units")
def get_proposal_units(proposal_id: int, db: DB, user: CurrentUser) -> dict[str, Any]:
    """The units of a proposal as points (GeoJSON) with the grid each belongs to."""
    p = scope.get_for(db, user, GridProposal, proposal_id, "view")
    _boundary, units, _roads, _sites, _excl = service.load_inputs(p)
    grid_of = service.assignment_of(p)
    features = [
        {
            "type": "Feature",
            "geometry": mapping(u.geometry.representative_point()),
            "properties": {"id": u.id, "households": u.households, "grid": grid_of.get(u.id)},
        }
        for u in units
    ]
    return {"type": "FeatureCollection", "features": features}


@pages.get("/villages/{village_code}", response_class=HTMLResponse)
def village_page(request: Request, village_code: str, db: DB, user: CurrentUser) -> HTMLResponse:
    """The proposals of a village and the form to propose a division."""
    scope.check_role(user, GridProposal, "view")
    if not scope.Jurisdiction.of(user).covers_code(village_code):
        raise NotFound(f"{village_code} not found")
    proposals = service.proposals_for(db, user, village_code)
    ctx = {"village_code": village_code, "proposals": proposals}
    return render(request, "planning/village.html", ctx)


@pages.post("/villages/{village_code}/proposals")
async def propose(
    request: Request,
    village_code: str,
    db: DB,
    user: CurrentUser,
    units: Annotated[UploadFile, File()],
    band: Annotated[str, Form()] = "300:500",
    households_field: Annotated[str, Form()] = "households",
) -> Response:
    """Divide the village from an uploaded units file (GeoPackage, GeoJSON, zipped Shapefile);
    unusable input re-renders the page with a localized error (nothing is stored)."""
    from civgrid.planning.cli import read_units

    suffix = Path(units.filename or "units.geojson").suffix.lower() or ".geojson"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"units{suffix}"
            path.write_bytes(await units.read())
            parsed = read_units(path, households_field)
        row = actions.propose_grids(db, village_code, parsed, actor=user, band=parse_band(band))
    except Invalid as exc:
        db.rollback()
        scope.check_role(user, GridProposal, "view")
        ctx = {
            "village_code": village_code,
            "proposals": service.proposals_for(db, user, village_code),
            "error": upload_error(exc),
        }
        return render(request, "planning/village.html", ctx, status_code=422)
    return RedirectResponse(f"/planning/proposals/{row.id}", status_code=303)


def upload_error(exc: Invalid) -> dict[str, Any]:
    """What went wrong with an upload, as a kind the page words in the user's language."""
    text = exc.message
    problems = list(exc.detail.get("problems") or [])  # type: ignore[call-overload]
    if isinstance(exc, DivisionInputError):
        kind = "band" if text.startswith("band") else "units"
    elif "cannot read" in text or "zip" in text:
        kind = "unreadable"
    elif "has no features" in text:
        kind = "empty"
    elif "coordinate reference system" in text:
        kind = "crs"
    elif "attribute" in text:
        kind = "field"
    else:
        kind = "other"
    return {"kind": kind, "detail": text, "problems": problems[:100], "more": len(problems) - 100}


@pages.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(request: Request, proposal_id: int, db: DB, user: CurrentUser) -> HTMLResponse:
    """The proposal on the map next to the current grids, with the checks per grid."""
    p = scope.get_for(db, user, GridProposal, proposal_id, "view")
    return render(request, "planning/proposal.html", {"p": p, "data": _payload(p)})


@pages.post("/proposals/{proposal_id}/nudge")
def nudge(
    proposal_id: int,
    db: DB,
    user: CurrentUser,
    unit_id: Annotated[str, Form()],
    to_code: Annotated[str, Form()],
) -> RedirectResponse:
    """Move one unit to a neighbouring grid."""
    p = scope.get_for(db, user, GridProposal, proposal_id, "change")
    actions.nudge_proposal(db, p, unit_id=unit_id, to_code=to_code, actor=user)
    return RedirectResponse(f"/planning/proposals/{proposal_id}", status_code=303)


@pages.post("/proposals/{proposal_id}/accept")
def accept(
    proposal_id: int, db: DB, user: CurrentUser, note: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Accept the proposal: the village's grids are filed as new versions."""
    p = scope.get_for(db, user, GridProposal, proposal_id, "change")
    actions.accept_proposal(db, p, actor=user, note=note)
    return RedirectResponse(f"/grids/map?prefix={p.village_code}", status_code=303)


@pages.post("/proposals/{proposal_id}/discard")
def discard(proposal_id: int, db: DB, user: CurrentUser) -> RedirectResponse:
    """Discard a draft proposal."""
    p = scope.get_for(db, user, GridProposal, proposal_id, "change")
    actions.discard_proposal(db, p, actor=user)
    return RedirectResponse(f"/planning/villages/{p.village_code}", status_code=303)
