"""One public-visibility rule everywhere: a report that is not registered (reported, rejected,
voided, merged) and its photos are not public on any route; its reporter, holding the tracking
code, still sees both; a registered case stays public everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from civgrid.cases import actions
from civgrid.cases.models import Case, CaseAttachment
from tests.portal.conftest import Portal, Resident, png_bytes

HIDDEN = ["reported", "rejected", "voided", "merged"]


def _report_in(portal: Portal, resident: Resident, state: str) -> tuple[str, str, int]:
    """(number, tracking code, photo id) of a portal report with a photo, taken to ``state``."""
    r = resident.report(portal, files=[("photos", ("a.png", png_bytes(), "image/png"))])
    number, code = resident.receipt(r)
    w = portal.world
    case = w.db.scalars(select(Case).where(Case.number == number)).one()
    if state == "rejected":
        actions.reject_case(w.db, case, actor=w.dispatcher, reason="不属于受理范围")
    elif state == "voided":
        actions.void_case(w.db, case, actor=w.dispatcher, reason="误报")
    elif state == "merged":
        into = w.drive(w.report(), "register")
        actions.merge_case(w.db, case, into=into, actor=w.dispatcher)
    elif state == "registered":
        w.drive(case, "register")
    assert case.state.value == state
    photo = w.db.scalars(select(CaseAttachment.id).where(CaseAttachment.case_id == case.id)).one()
    return number, code, photo


def _seen(client: Any, portal: Portal, number: str, photo: int) -> dict[str, bool]:
    """Whether each public route shows the case (single pages: 200; lists: listed)."""
    w = portal.world
    listed = client.get("/open311/v2/requests.json").json()
    by_id = client.get(f"/open311/v2/requests.json?service_request_id={number}").json()
    nearby = f"/portal/nearby?category_id={w.category.id}&lon={w.lon}&lat={w.lat}"
    pages = {
        "open311 request": f"/open311/v2/requests/{number}.json",
        "open311 media": f"/open311/v2/media/{photo}",
        "portal photo": f"/portal/photos/{photo}",
        "portal thumb": f"/portal/photos/{photo}/thumb",
        "portal case": f"/portal/cases/{number}",
    }
    seen = {name: client.get(path).status_code == 200 for name, path in pages.items()}
    seen["open311 list"] = number in {d["service_request_id"] for d in listed}
    seen["open311 by id"] = number in {d["service_request_id"] for d in by_id}
    seen["board"] = number in client.get("/board").text
    seen["board map"] = number in client.get("/board/cases.geojson").text
    seen["portal nearby"] = number in client.get(nearby).text
    return seen


@pytest.mark.parametrize("state", HIDDEN)
def test_an_unregistered_report_is_hidden_from_the_public_everywhere(
    portal: Portal, resident: Resident, other_resident: Resident, state: str
) -> None:
    number, _code, photo = _report_in(portal, resident, state)
    seen = _seen(other_resident.client, portal, number, photo)
    assert not any(seen.values()), seen
    for path in (f"/portal/photos/{photo}", f"/open311/v2/media/{photo}"):
        assert other_resident.client.get(path).status_code == 404
    r = other_resident.post("/portal/track", {"number": number, "code": ""})
    assert r.status_code == 404  # following by number alone needs a public case
    r = other_resident.post(f"/portal/cases/{number}/join", {})
    assert r.status_code == 404


@pytest.mark.parametrize("state", HIDDEN)
def test_its_reporter_still_sees_it_with_the_tracking_code(
    portal: Portal, resident: Resident, other_resident: Resident, state: str
) -> None:
    number, code, photo = _report_in(portal, resident, state)
    page = resident.client.get(f"/portal/cases/{number}")
    assert page.status_code == 200 and number in page.text
    assert f"/portal/photos/{photo}/thumb" in page.text
    for path in (f"/portal/photos/{photo}", f"/portal/photos/{photo}/thumb"):
        got = resident.client.get(path)
        assert got.status_code == 200 and got.headers["cache-control"].startswith("private")
    assert number in resident.client.get("/portal").text  # the device's own reports
    # On another device, the number and the code open it too.
    assert other_resident.client.get(f"/portal/cases/{number}").status_code == 404
    r = other_resident.post("/portal/track", {"number": number, "code": code})
    assert r.status_code == 303
    assert other_resident.client.get(f"/portal/cases/{number}").status_code == 200
    assert other_resident.client.get(f"/portal/photos/{photo}").status_code == 200


def test_a_registered_case_is_public_everywhere(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    number, _code, photo = _report_in(portal, resident, "registered")
    seen = _seen(other_resident.client, portal, number, photo)
    assert all(seen.values()), seen
    got = other_resident.client.get(f"/portal/photos/{photo}")
    assert got.headers["cache-control"].startswith("public")


def test_a_followed_case_that_leaves_the_public_drops_off_the_start_page(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    number, _code, _photo = _report_in(portal, resident, "registered")
    assert other_resident.post(f"/portal/cases/{number}/join", {}).status_code == 303
    assert number in other_resident.client.get("/portal").text
    w = portal.world
    case = w.db.scalars(select(Case).where(Case.number == number)).one()
    actions.void_case(w.db, case, actor=w.dispatcher, reason="误报")
    assert number not in other_resident.client.get("/portal").text
    assert number in resident.client.get("/portal").text  # its reporter still has it
