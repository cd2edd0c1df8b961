"""The planning pages: a planner proposes from an upload, sees the checks, nudges, accepts."""

from __future__ import annotations

import json
import re

import shapely
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.models import Grid
from civgrid.planning import service
from civgrid.planning.models import GridProposal, ProposalStatus
from tests.grids.test_api import login_in
from tests.planning.conftest import wgs
from tests.planning.test_actions import VILLAGE, _territory

HTML = {"Accept": "text/html"}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_planner_proposes_sees_checks_and_accepts(db: Session, client, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin", ("division", "441900101"))
    units = _territory(db)
    login_in(client, admin.username)
    page = client.get(f"/planning/villages/{VILLAGE}", headers=HTML)
    assert page.status_code == 200
    upload = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": mapping(u.geometry),
                    "properties": {"hh": u.households},
                }
                for u in units
            ],
        }
    )
    r = client.post(
        f"/planning/villages/{VILLAGE}/proposals",
        data={"csrf_token": _csrf(page.text), "band": "300:500", "households_field": "hh"},
        files={"units": ("units.geojson", upload, "application/geo+json")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    p = db.scalar(select(GridProposal).where(GridProposal.village_code == VILLAGE))
    assert p is not None
    shown = client.get(r.headers["location"], headers=HTML)
    assert shown.status_code == 200
    assert "Polsby-Popper" in shown.text and f"{VILLAGE}01" in shown.text
    data = service.result_of(p)
    for g in data["checks"]["grids"]:
        assert g["code"] in shown.text
    r = client.post(
        f"/planning/proposals/{p.id}/accept",
        data={"csrf_token": _csrf(shown.text), "note": "approved by the township"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.refresh(p)
    assert p.status == ProposalStatus.ACCEPTED
    grids = db.scalars(
        select(Grid).where(Grid.village_code == VILLAGE, Grid.valid_to.is_(None))
    ).all()
    assert len(grids) == data["summary"]["grids"]


def test_upload_with_bad_units_names_them(db: Session, client, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin", ("division", "441900101"))
    _territory(db)
    login_in(client, admin.username)
    page = client.get(f"/planning/villages/{VILLAGE}", headers=HTML)
    far = {
        "type": "Feature",
        "geometry": mapping(wgs(shapely.Point(5000, 5000))),
        "properties": {"households": 3},
    }
    upload = json.dumps({"type": "FeatureCollection", "features": [far]})
    r = client.post(
        f"/planning/villages/{VILLAGE}/proposals",
        data={"csrf_token": _csrf(page.text)},
        files={"units": ("u.geojson", upload, "application/geo+json")},
    )
    assert r.status_code == 422 and "unit 1: lies outside the village" in r.text
    assert db.scalar(select(GridProposal.id)) is None


def test_units_api_and_nudge_form(db: Session, client, make_user, bearer) -> None:  # type: ignore[no-untyped-def]
    from civgrid.planning import actions

    admin = make_user("admin", ("division", "441900101"))
    p = actions.propose_grids(db, VILLAGE, _territory(db), actor=admin)
    units = client.get(f"/api/v1/planning/proposals/{p.id}/units", headers=bearer(admin)).json()
    assignment = service.assignment_of(p)
    assert {f["properties"]["id"]: f["properties"]["grid"] for f in units["features"]} == assignment
    login_in(client, admin.username)
    page = client.get(f"/planning/proposals/{p.id}", headers=HTML)
    unit = units["features"][0]["properties"]["id"]
    far = max(set(assignment.values()) - {assignment[unit]})
    r = client.post(
        f"/planning/proposals/{p.id}/nudge",
        data={"csrf_token": _csrf(page.text), "unit_id": unit, "to_code": far},
        headers={"Accept": "application/json"},
    )
    # not a neighbour (or it would split a grid): refused with the reason, nothing changed
    assert r.status_code == 422 and ("does not border" in r.text or "split" in r.text)
    db.refresh(p)
    assert p.revision == 1 and service.assignment_of(p) == assignment
