"""Patrols over the API: start, idempotent batches, refused points, summary, scope, sweep."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.grids.actions import GridDraft, create_grid
from civgrid.grids.models import Post
from civgrid.workforce import patrols as patrol_actions
from civgrid.workforce.actions import staff_grid
from civgrid.workforce.models import Patrol, PatrolDay, PatrolPoint, PatrolState
from tests.grids.conftest import VILLAGE, sq
from tests.workforce.conftest import T0, point

NOW = [T0]


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's clock: patrols start at T0, then it is two hours later (points in the past)."""
    from civgrid.workforce import routes

    NOW[0] = T0
    monkeypatch.setattr(routes, "utcnow", lambda: NOW[0])


def _start(client: TestClient, headers: dict[str, str]) -> int:
    NOW[0] = T0
    r = client.post("/api/v1/patrols", headers=headers)
    assert r.status_code == 201, r.text
    NOW[0] = T0 + timedelta(hours=2)
    return int(r.json()["id"])


def _walk(start_s: int, n: int, step_s: int = 10, speed_mps: float = 1.2) -> list[dict]:
    return [
        point(start_s + i * step_s, 10 + (start_s + i * step_s) * speed_mps / 10, 50)
        for i in range(n)
    ]


def test_a_batch_sent_twice_is_stored_once_and_late_batches_land_in_time_order(
    client: TestClient, db: Session, staffed, bearer
) -> None:
    h = bearer(staffed.worker)
    pid = _start(client, h)
    url = f"/api/v1/patrols/{pid}/points"
    second = {"key": "b2", "points": _walk(600, 60)}
    first = {"key": "b1", "points": _walk(0, 60)}
    assert client.post(url, json=second, headers=h).json() == {
        "stored": 60,
        "rejected": [],
        "duplicate": False,
    }
    assert client.post(url, json=first, headers=h).json()["stored"] == 60
    again = client.post(url, json=first, headers=h).json()
    assert again == {"stored": 60, "rejected": [], "duplicate": True}
    times = db.scalars(
        select(PatrolPoint.at).where(PatrolPoint.patrol_id == pid).order_by(PatrolPoint.id)
    ).all()
    assert len(times) == 120
    ordered = db.scalars(
        select(PatrolPoint.at).where(PatrolPoint.patrol_id == pid).order_by(PatrolPoint.at)
    ).all()
    assert ordered[0] == T0 and ordered[-1] == T0 + timedelta(seconds=1190)


def test_overlapping_batches_and_repeated_times_store_each_time_once(
    client: TestClient, db: Session, staffed, bearer
) -> None:
    h = bearer(staffed.worker)
    pid = _start(client, h)
    url = f"/api/v1/patrols/{pid}/points"
    assert client.post(url, json={"key": "a", "points": _walk(0, 60)}, headers=h).json() == {
        "stored": 60,
        "rejected": [],
        "duplicate": False,
    }
    # Resent under a new key with 30 new positions (a phone that lost the first answer).
    overlap = client.post(url, json={"key": "b", "points": _walk(300, 60)}, headers=h).json()
    assert overlap == {"stored": 30, "rejected": [], "duplicate": False}
    twice = _walk(1000, 2)
    same_time = {"key": "c", "points": [twice[0], twice[0], twice[1]]}
    assert client.post(url, json=same_time, headers=h).json()["stored"] == 2
    assert client.post(url, json=same_time, headers=h).json() == {
        "stored": 2,
        "rejected": [],
        "duplicate": True,
    }
    stored = db.scalar(
        select(func.count()).select_from(PatrolPoint).where(PatrolPoint.patrol_id == pid)
    )
    assert stored == 92
    assert client.get(f"/api/v1/patrols/{pid}", headers=h).json()["point_count"] == 92


def test_impossible_points_are_refused_with_a_reason(client: TestClient, staffed, bearer) -> None:
    h = bearer(staffed.worker)
    pid = _start(client, h)
    good = point(0, 10, 10)
    spike = point(10, 180, 180)  # 240 m in 10 s: 86 km/h
    far = point(20, 9000, 10)  # 9 km east of the grid
    no_time = {k: v for k, v in point(30, 12, 10).items() if k != "t"}
    future = point(3 * 3600, 12, 10)  # an hour after now
    fine = point(40, 20, 10)
    body = {"key": "k1", "points": [good, spike, far, no_time, future, fine]}
    r = client.post(f"/api/v1/patrols/{pid}/points", json=body, headers=h)
    assert r.status_code == 200
    assert r.json()["stored"] == 2
    assert r.json()["rejected"] == [
        {"index": 1, "reason": "speed"},
        {"index": 2, "reason": "far_outside_grids"},
        {"index": 3, "reason": "no_time"},
        {"index": 4, "reason": "future"},
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"points": []},
        {"key": "x", "points": "many"},
        {"key": "x", "points": [{"t": 1, "lon": 500, "lat": 23}]},
        {"key": "bad key!", "points": []},
    ],
)
def test_malformed_batches_get_422_and_store_nothing(
    client: TestClient, db: Session, staffed, bearer, body
) -> None:
    h = bearer(staffed.worker)
    pid = _start(client, h)
    assert client.post(f"/api/v1/patrols/{pid}/points", json=body, headers=h).status_code == 422
    assert db.scalar(select(func.count()).select_from(PatrolPoint)) == 0


def test_ending_summarises_distance_time_inside_and_stops(
    client: TestClient, db: Session, staffed, bearer
) -> None:
    h = bearer(staffed.worker)
    pid = _start(client, h)
    walk = [point(i * 10, 10 + i * 12, 100) for i in range(15)]  # 168 m east in 140 s
    stop = [point(150 + i * 10, 178, 100) for i in range(25)]  # 240 s at one spot
    out = [point(400 + i * 10, 178 + i * 10, 100) for i in range(6)]  # leaves the grid at x=200
    body = {"key": "all", "points": walk + stop + out}
    assert client.post(f"/api/v1/patrols/{pid}/points", json=body, headers=h).json()["stored"] == 46
    r = client.post(f"/api/v1/patrols/{pid}/end", json={}, headers=h)
    assert r.status_code == 200
    s = r.json()
    assert s["state"] == "closed"
    assert s["distance_m"] == pytest.approx(168 + 50, rel=0.02)
    assert s["inside_s"] == pytest.approx(420, abs=10)
    assert len(s["stops"]) == 1
    assert s["stops"][0]["to"] - s["stops"][0]["from"] >= 180
    day = db.get(PatrolDay, (staffed.worker.id, T0.date()))
    assert day is not None and day.patrols == 1
    assert client.post(f"/api/v1/patrols/{pid}/end", json={}, headers=h).json() == s


def test_a_worker_without_a_grid_cannot_start(client: TestClient, make_user, bearer) -> None:
    loner = make_user("grid_worker", ("division", "441900101002"))
    r = client.post("/api/v1/patrols", headers=bearer(loner))
    assert r.status_code == 422
    assert "grid" in r.json()["detail"]


def test_one_open_patrol_at_a_time(client: TestClient, staffed, bearer) -> None:
    h = bearer(staffed.worker)
    _start(client, h)
    assert client.post("/api/v1/patrols", headers=h).status_code == 409


def test_workers_see_only_their_own_patrols_and_leaders_their_grid(
    client: TestClient, staffed, bearer, make_user
) -> None:
    pid = _start(client, bearer(staffed.worker))
    other = make_user("grid_worker", ("grid", staffed.grid.code))
    assert client.get(f"/api/v1/patrols/{pid}").status_code == 401
    assert client.get(f"/api/v1/patrols/{pid}", headers=bearer(other)).status_code == 404
    assert client.get(f"/api/v1/patrols/{pid}", headers=bearer(staffed.leader)).status_code == 200
    stranger = make_user("grid_leader", ("division", "441900102"))
    assert client.get(f"/api/v1/patrols/{pid}", headers=bearer(stranger)).status_code == 404
    handler = make_user("dept_handler", ("division", "441900101"))
    assert client.get(f"/api/v1/patrols/{pid}", headers=bearer(handler)).status_code == 403
    assert (
        client.get(f"/api/v1/patrols/{pid}/replay", headers=bearer(staffed.worker)).status_code
        == 200
    )


def test_the_sweep_closes_yesterdays_open_patrol_flagged_and_purges_old_points(
    db: Session, staffed
) -> None:
    from civgrid.workforce.patrols import RawPoint

    patrol = patrol_actions.start_patrol(db, staffed.worker, now=T0)
    pts = [
        RawPoint(T0 + timedelta(seconds=10 * i), 113.7801 + i * 1e-5, 23.0901) for i in range(30)
    ]
    patrol_actions.upload_points(
        db, patrol, staffed.worker, key="k", points=pts, now=T0 + timedelta(hours=1)
    )
    done = patrol_actions.sweep_patrols(db, now=T0 + timedelta(days=1))
    assert done["auto_closed"] == [patrol.id]
    db.refresh(patrol)
    assert patrol.state == PatrolState.AUTO_CLOSED
    assert patrol.ended_at == T0 + timedelta(seconds=290)
    assert patrol_actions.sweep_patrols(db, now=T0 + timedelta(days=91))["purged"] == [patrol.id]
    assert (
        db.scalar(
            select(func.count()).select_from(PatrolPoint).where(PatrolPoint.patrol_id == patrol.id)
        )
        == 0
    )
    db.refresh(patrol)
    assert patrol.track is None and patrol.duration_s == 290
    assert db.get(PatrolDay, (staffed.worker.id, T0.date())).seconds == 290
    assert db.scalar(select(Patrol.purged_at).where(Patrol.id == patrol.id)) is not None


def test_the_month_table_files_each_worker_under_their_first_grid(
    client: TestClient, db: Session, staffed, bearer
) -> None:
    later = create_grid(db, GridDraft(VILLAGE, sq(200, 0, 400, 200), "二片", 300, 900), actor=None)
    staff_grid(
        db,
        later,
        leader_id=staffed.leader.id,
        members=[(staffed.worker.id, Post.PART_TIME)],
        actor=None,
    )
    code = staffed.grid.code
    hours = {date(2026, 12, 1): 4.5, date(2026, 12, 2): 3.0, date(2026, 12, 9): 4.0}
    for day, h in [*hours.items(), (date(2026, 11, 30), 6.0)]:
        db.add(PatrolDay(user_id=staffed.worker.id, day=day, territory_code=code, seconds=h * 3600))
    db.add(
        PatrolDay(
            user_id=staffed.leader.id, day=date(2026, 12, 3), territory_code=code, seconds=5 * 3600
        )
    )
    db.flush()
    url = "/api/v1/patrols/month?month=2026-12"
    rows = {r["user_id"]: r for r in client.get(url, headers=bearer(staffed.leader)).json()}
    assert set(rows) == {staffed.worker.id, staffed.leader.id}
    mine = rows[staffed.worker.id]
    assert (mine["grid_code"], mine["days"], mine["hours"]) == (staffed.grid.code, 3, 11.5)
    assert (mine["days_meeting_rule"], mine["required_hours"]) == (2, 4.0)
    assert rows[staffed.leader.id]["grid_code"] == staffed.grid.code
    own = client.get(url, headers=bearer(staffed.worker)).json()
    assert [r["user_id"] for r in own] == [staffed.worker.id]


@pytest.mark.parametrize("month", ["0000-01", "2026-13", "2026-00"])
def test_a_month_that_is_no_month_is_a_422(client: TestClient, staffed, bearer, month) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/patrols/month?month={month}", headers=bearer(staffed.leader))
    assert r.status_code == 422 and r.json()["code"] == "invalid"
