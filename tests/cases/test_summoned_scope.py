"""A summoned department (吹哨报到) sees the case, reports in and attaches photos; only the
responsible department handles it (issue 18, defect 2). Every handling action × {responsible,
summoned, other} department, through the API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from civgrid.cases import actions
from tests.cases import factories
from tests.cases.conftest import png_bytes

BODIES: dict[str, dict[str, Any]] = {
    "accept": {"note": ""},
    "start": {"note": ""},
    "return": {"reason": "not ours"},
    "extension": {"amount": 1, "reason": "parts on order"},
    "handle": {"feedback": "done", "attachment_ids": [1]},
}


@pytest.fixture
def summoned_case(db: Session, world, make_user):  # type: ignore[no-untyped-def]
    """A case dispatched to world.dept with world.dept2 summoned; a third department apart."""
    case = world.drive(world.report(), "register", "dispatch")
    actions.summon_departments(db, case, actor=world.dispatcher, departments=[world.dept2.code])
    third = factories.department(db, "T-YL", "园林")
    world.steps["third"] = make_user("dept_handler", ("department", third.code))
    return case


@pytest.mark.parametrize("action", BODIES)
@pytest.mark.parametrize(("who", "status"), [("summoned", 403), ("other", 404)])
def test_only_the_responsible_department_handles(
    client, bearer, world, summoned_case, action: str, who: str, status: int
) -> None:  # type: ignore[no-untyped-def]
    user = world.other_handler if who == "summoned" else world.steps["third"]
    url = f"/api/v1/cases/{summoned_case.number}/{action}"
    r = client.post(url, json=BODIES[action], headers=bearer(user))
    assert r.status_code == status, r.text


def test_the_summoned_department_sees_reports_in_and_attaches(
    client, bearer, world, summoned_case
) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(world.other_handler)
    number = summoned_case.number
    case = client.get(f"/api/v1/cases/{number}", headers=headers)
    assert case.status_code == 200
    (summons,) = case.json()["summons"]
    ack = client.post(
        f"/api/v1/cases/{number}/summons/{summons['id']}/ack",
        json={"note": "on site"},
        headers=headers,
    )
    assert ack.status_code == 200, ack.text
    photo = client.post(
        f"/api/v1/cases/{number}/attachments",
        files={"file": ("p.png", png_bytes(), "image/png")},
        headers=headers,
    )
    assert photo.status_code == 201, photo.text


def test_the_responsible_department_handles(client, bearer, world, summoned_case) -> None:  # type: ignore[no-untyped-def]
    headers, number = bearer(world.handler), summoned_case.number
    for action in ("accept", "extension", "start"):
        r = client.post(f"/api/v1/cases/{number}/{action}", json=BODIES[action], headers=headers)
        assert r.status_code == 200, (action, r.text)
    other = world.drive(world.report(lon=world.lon + 0.0005), "register", "dispatch")
    r = client.post(f"/api/v1/cases/{other.number}/return", json=BODIES["return"], headers=headers)
    assert r.status_code == 200, r.text
