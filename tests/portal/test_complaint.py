"""Complaints about grid staff (监督投诉): to the grid office; never seen by the grid's staff,
never published; the reporter's contact only for the command center."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from civgrid.cases import actions
from civgrid.cases.models import Case, CaseSource
from civgrid.cases.service import CaseFilter, get_case_for, list_cases
from civgrid.errors import NotFound
from tests.portal.conftest import Portal, Resident


def _complain(portal: Portal, resident: Resident, **fields: str) -> Case:
    data = {"grid": portal.world.grid_code, "description": "网格员态度恶劣", **fields}
    number, _code = resident.receipt(resident.post("/portal/complain", data))
    case = portal.world.db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    return case


def test_a_complaint_goes_to_the_grid_office(portal: Portal, resident: Resident) -> None:
    page = resident.client.get(f"/portal/complain?grid={portal.world.grid_code}").text
    assert f'value="{portal.world.grid_code}" selected' in page
    assert "不会交给被投诉的网格工作人员" in page
    case = _complain(portal, resident, phone="13700000000")
    assert case.category_id == portal.complaint.id
    assert case.source == CaseSource.PORTAL
    assert case.grid_code == portal.world.grid_code
    w = portal.world
    actions.register_case(w.db, case, actor=w.dispatcher)
    actions.dispatch_case(w.db, case, actor=w.dispatcher)
    assert case.department_code == portal.office.code  # by the routing rule, not to the grid


def test_the_grids_own_staff_never_see_a_complaint(
    portal: Portal,
    resident: Resident,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    w = portal.world
    case = _complain(portal, resident)
    ordinary = w.report()
    leader = make_user("grid_leader", ("division", w.village))
    for staff in (w.worker, leader):
        try:
            get_case_for(w.db, staff, case.number)
        except NotFound:
            pass
        else:  # pragma: no cover
            raise AssertionError(f"{staff.role} saw the complaint")
        numbers = {c.number for c in list_cases(w.db, staff, CaseFilter())}
        assert ordinary.number in numbers and case.number not in numbers
    assert get_case_for(w.db, w.dispatcher, case.number).id == case.id
    supervisor = make_user("supervisor", ("division", "441900101"))
    assert get_case_for(w.db, supervisor, case.number).id == case.id


def test_the_grid_worker_gets_404_over_the_api(
    portal: Portal,
    resident: Resident,
    client: TestClient,
    bearer,  # type: ignore[no-untyped-def]
) -> None:
    case = _complain(portal, resident)
    r = client.get(f"/api/v1/cases/{case.number}", headers=bearer(portal.world.worker))
    assert r.status_code == 404
    r = client.get(f"/api/v1/cases/{case.number}", headers=bearer(portal.world.dispatcher))
    assert r.status_code == 200


def test_a_complaint_is_never_public(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    case = _complain(portal, resident)
    assert other_resident.client.get(f"/portal/cases/{case.number}").status_code == 404
    assert resident.client.get(f"/portal/cases/{case.number}").status_code == 200
    r = other_resident.client.get(f"/open311/v2/requests/{case.number}.json")
    assert r.status_code == 404


def test_bad_complaints_are_refused(portal: Portal, resident: Resident) -> None:
    before = portal.count()
    for data in (
        {"grid": "", "description": "x"},
        {"grid": "99999999999999", "description": "x"},
        {"grid": portal.world.grid_code, "description": ""},
        {"grid": portal.world.grid_code, "description": "<a href=x>y</a>"},
    ):
        r = resident.post("/portal/complain", data)
        assert r.status_code == 422, data
        assert 'role="alert"' in r.text
    assert portal.count() == before
