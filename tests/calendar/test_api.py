"""Calendar API: reading days, admin edits (audited, permission-checked), deadlines."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.audit.service import recent_events
from civgrid.calendar.service import get_calendar


def test_days_of_2026(client: TestClient, make_user, bearer) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    days = client.get("/api/v1/calendar/days", params={"year": 2026}, headers=bearer(user)).json()
    by_day = {d["day"]: d for d in days}
    assert by_day["2026-10-01"] == {
        "day": "2026-10-01",
        "kind": "holiday",
        "name": "国庆节",
        "source": "official",
    }
    assert by_day["2026-10-10"]["kind"] == "workday"
    assert sum(d["kind"] == "workday" for d in days) == 6


def test_admin_edit_changes_deadlines(client: TestClient, db: Session, make_user, bearer) -> None:
    admin = make_user("admin", ("all", ""))
    h = bearer(admin)
    before = client.get(
        "/api/v1/calendar/deadline",
        headers=h,
        params={"start": "2026-11-20T17:00:00+08:00", "amount": 1, "unit": "work_days"},
    ).json()
    assert before["deadline_local"] == "2026-11-23T17:00:00+08:00"
    r = client.put(
        "/api/v1/calendar/days/2026-11-23",
        headers=h,
        json={"kind": "holiday", "name": "本地防台风停工"},
    )
    assert r.status_code == 200
    assert r.json()["source"] == "local"
    after = client.get(
        "/api/v1/calendar/deadline",
        headers=h,
        params={"start": "2026-11-20T17:00:00+08:00", "amount": 1, "unit": "work_days"},
    ).json()
    assert after["deadline_local"] == "2026-11-24T17:00:00+08:00"
    assert recent_events(db, action="calendar.set_day", limit=1)[0].object_id == "2026-11-23"
    assert client.delete("/api/v1/calendar/days/2026-11-23", headers=h).status_code == 204
    assert get_calendar(db).is_working_day(date(2026, 11, 23))
    assert client.delete("/api/v1/calendar/days/2026-11-23", headers=h).status_code == 404


def test_edit_permissions(client: TestClient, make_user, bearer) -> None:
    body = {"kind": "holiday", "name": "x"}
    assert client.put("/api/v1/calendar/days/2026-11-23", json=body).status_code == 401
    chief = make_user("duty_chief", ("division", "441900101"))
    assert (
        client.put("/api/v1/calendar/days/2026-11-23", json=body, headers=bearer(chief)).status_code
        == 403
    )


def test_bad_input_is_422(client: TestClient, make_user, bearer) -> None:
    admin = make_user("admin", ("all", ""))
    h = bearer(admin)
    assert (
        client.put(
            "/api/v1/calendar/days/2026-02-30", json={"kind": "holiday"}, headers=h
        ).status_code
        == 422
    )
    assert (
        client.put(
            "/api/v1/calendar/days/2026-11-23", json={"kind": "party"}, headers=h
        ).status_code
        == 422
    )
    r = client.get(
        "/api/v1/calendar/deadline",
        headers=h,
        params={"start": "2026-11-20T17:00:00", "amount": 1, "unit": "work_days"},
    )
    assert r.status_code == 422
    assert "UTC offset" in r.json()["detail"]
    r = client.get(
        "/api/v1/calendar/deadline",
        headers=h,
        params={"start": "2026-11-20T17:00:00+08:00", "amount": -1, "unit": "work_days"},
    )
    assert r.status_code == 422
