"""The field-work gate: a grid worker patrols and reports from the field only after passing."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.errors import Forbidden
from civgrid.workforce import actions
from civgrid.workforce.models import TrainingCourse
from civgrid.workforce.service import expiring_certificates
from tests.cases.conftest import world  # noqa: F401  (the case fixtures)

TODAY = date(2026, 12, 7)


def test_no_patrol_before_the_required_training_is_passed(
    client: TestClient, db: Session, make_user, bearer, staffed
) -> None:
    admin = bearer(make_user("admin", ("all", "")))
    r = client.post(
        "/api/v1/training/courses",
        json={"code": "GW-BASIC", "name": "网格员岗前培训", "pass_mark": 70, "valid_months": 12},
        headers=admin,
    )
    assert r.status_code == 201
    course = r.json()["id"]
    worker = bearer(staffed.worker)
    assert client.post("/api/v1/patrols", headers=worker).status_code == 403
    exam = {"user_id": staffed.worker.id, "score": 55, "taken_on": "2026-11-20"}
    r = client.post(f"/api/v1/training/courses/{course}/exams", json=exam, headers=admin)
    assert r.json() == {"id": r.json()["id"], "passed": False, "field_cleared": False}
    assert client.post("/api/v1/patrols", headers=worker).status_code == 403
    exam["score"] = 82
    r = client.post(f"/api/v1/training/courses/{course}/exams", json=exam, headers=admin)
    assert r.json()["field_cleared"] is True
    assert client.post("/api/v1/patrols", headers=worker).status_code == 201


def test_a_patrol_report_is_refused_before_passing_and_accepted_after(db: Session, world) -> None:  # noqa: F811
    course = actions.add_course(
        db, code="GW", name="岗前培训", required=True, pass_mark=60, valid_months=None, actor=None
    )
    world.worker.field_cleared = False
    with pytest.raises(Forbidden):
        world.report()
    actions.record_exam(db, course, world.worker, score=60, taken_on=TODAY, today=TODAY, actor=None)
    assert world.report().number


def test_expiring_certificates_are_listed_a_month_ahead(db: Session, staffed) -> None:
    course = actions.add_course(
        db, code="FS", name="消防安全", required=False, pass_mark=60, valid_months=12, actor=None
    )
    actions.record_exam(
        db, course, staffed.worker, score=90, taken_on=date(2025, 12, 20), today=TODAY, actor=None
    )
    actions.record_exam(
        db, course, staffed.leader, score=90, taken_on=date(2026, 6, 1), today=TODAY, actor=None
    )
    rows = expiring_certificates(db, today=TODAY)
    assert [(r[0].user_id, r[0].expires_on) for r in rows] == [
        (staffed.worker.id, date(2026, 12, 20))
    ]


def test_the_sweep_withdraws_clearance_when_a_required_certificate_expires(
    db: Session, staffed
) -> None:
    from datetime import UTC, datetime

    from civgrid.cases.sweep import sweep

    course = actions.add_course(
        db, code="GW12", name="年度复训", required=True, pass_mark=60, valid_months=12, actor=None
    )
    actions.record_exam(
        db,
        course,
        staffed.worker,
        score=80,
        taken_on=date(2025, 12, 1),
        today=date(2026, 11, 20),
        actor=None,
    )
    assert staffed.worker.field_cleared
    report = sweep(db, now=datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    assert report.patrols["uncleared"] == [staffed.worker.id]
    db.refresh(staffed.worker)
    assert not staffed.worker.field_cleared


def test_a_course_code_taken_is_a_409_and_stores_nothing(
    client: TestClient, db: Session, make_user, bearer
) -> None:
    admin = bearer(make_user("admin", ("all", "")))
    course = {"code": "GW-BASIC", "name": "网格员岗前培训"}
    assert client.post("/api/v1/training/courses", json=course, headers=admin).status_code == 201
    r = client.post("/api/v1/training/courses", json=course | {"name": "另一门"}, headers=admin)
    assert r.status_code == 409, r.text
    assert "GW-BASIC" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(TrainingCourse)) == 1
