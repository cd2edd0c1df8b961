"""Case intake as served for real: sessions bound to the engine, not to a test's transaction.

On PostgreSQL the intake then plans on the event loop (``on_loop_if_cached``) and writes with
one statement on the app's asynchronous pool (``civgrid.db.aio``); a major emergency, whose
notice shares its case's transaction, still goes through the session. On SQLite everything
stays in the session. The answers, and the rows written, are the same.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, text, update

from civgrid.cases.demo import demo_points, demo_report_target
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseNotification
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category, Stage
from civgrid.db.aio import APPLICATION_NAME
from civgrid.db.cache import clear_all
from civgrid.grids import service as grids
from tests.conftest import BACKEND, DemoSite


def _token(base: str) -> dict[str, str]:
    r = httpx.post(
        base + "/api/v1/auth/token", data={"username": "dispatcher", "password": "civgrid-demo"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _report(base: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = httpx.post(base + "/api/v1/cases", json={"source": "hotline", **body}, headers=headers)
    assert r.status_code == 201, r.text
    assert "set-cookie" not in r.headers  # a bearer call has no cookie session
    return dict(r.json())


def test_reports_are_written_whole_and_find_each_other(demo_site: DemoSite) -> None:
    headers = _token(demo_site.base)
    with demo_site.sessions() as db:
        category_id, _lon, _lat = demo_report_target(db)
        lon, lat = demo_points(db, 7)[6]
    spot = {"category_id": category_id, "lon": lon, "lat": lat}
    first = _report(demo_site.base, headers, description="路灯不亮 1", **spot)
    assert first["likely_duplicates"] == []
    second = _report(demo_site.base, headers, description="路灯不亮 2", **spot)
    assert [d["number"] for d in second["likely_duplicates"]] == [first["number"]]
    assert second["likely_duplicates"][0]["distance_m"] == 0
    assert second["number"] > first["number"] and second["state"] == "reported"
    with demo_site.sessions() as db:
        case = db.scalars(select(Case).where(Case.number == second["number"])).one()
        assert (case.state, case.stage, case.description) == (
            CaseState.REPORTED,
            Stage.REGISTER,
            "路灯不亮 2",
        )
        assert case.due_at is not None and case.due_at.isoformat() == second["due_at"].replace(
            "Z", "+00:00"
        )
        [event] = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
        assert (event.action, event.to_state, event.data) == (
            "report",
            CaseState.REPORTED,
            {"source": "hotline"},
        )
        assert event.actor_id is not None and "dispatcher" in event.actor_label
        [clock] = db.scalars(select(CaseClock).where(CaseClock.case_id == case.id)).all()
        assert (clock.stage, clock.due_at, clock.finished_at) == (Stage.REGISTER, case.due_at, None)
        writers = (
            db.scalar(
                select(func.count())
                .select_from(text("pg_stat_activity"))
                .where(text("datname = current_database() AND application_name = :name"))
                .params(name=APPLICATION_NAME)
            )
            if BACKEND == "postgresql"
            else 0
        )
    # PostgreSQL: written on the asynchronous pool; SQLite: it has none
    assert (writers > 0) == (BACKEND == "postgresql")
    detail = httpx.get(f"{demo_site.base}/api/v1/cases/{second['number']}", headers=headers)
    assert [e["action"] for e in detail.json()["events"]] == ["report"]


def test_a_major_emergency_is_written_with_its_notice(demo_site: DemoSite) -> None:
    headers = _token(demo_site.base)
    with demo_site.sessions() as db:
        lon, lat = demo_points(db, 5)[4]
        category = db.scalars(
            select(Category).where(Category.code == "M03005")
        ).one()  # any category the dispatcher may report; flagged major for this test only
        db.execute(
            update(Category).where(Category.id == category.id).values(is_major_emergency=True)
        )
        db.commit()
        clear_all()  # the server shares this process: it sees the flag at once
    try:
        out = _report(
            demo_site.base,
            headers,
            category_id=category.id,
            lon=lon,
            lat=lat,
            description="燃气泄漏",
        )
    finally:
        with demo_site.sessions() as db:
            db.execute(
                update(Category).where(Category.id == category.id).values(is_major_emergency=False)
            )
            db.commit()
        clear_all()
    assert (out["level"], out["priority"]) == ("township", "emergency")
    with demo_site.sessions() as db:
        case_id = db.scalar(select(Case.id).where(Case.number == out["number"]))
        kinds = db.scalars(
            select(CaseNotification.kind).where(CaseNotification.case_id == case_id)
        ).all()
    assert kinds == ["major_emergency"]


def test_stale_caches_are_read_again_off_the_event_loop(demo_site: DemoSite) -> None:
    """With every cache dropped, planning needs the database: it runs in the thread pool."""
    headers = _token(demo_site.base)
    with demo_site.sessions() as db:
        category_id, _lon, _lat = demo_report_target(db)
        lon, lat = demo_points(db, 3)[2]
    clear_all()
    grids._INDEXES.clear()
    out = _report(
        demo_site.base,
        headers,
        category_id=category_id,
        lon=lon,
        lat=lat,
        description="井盖缺失",
    )
    assert out["state"] == "reported" and out["grid_code"]


def test_bad_reports_write_nothing(demo_site: DemoSite) -> None:
    headers = _token(demo_site.base)
    with demo_site.sessions() as db:
        category_id, lon, lat = demo_report_target(db)
        before = db.scalar(select(func.count(Case.id)))
    base = {"source": "hotline", "category_id": category_id, "lon": lon, "lat": lat}
    bad = [
        {**base, "description": "   "},
        {**base, "description": "x", "lon": 0.0, "lat": 0.0},  # outside the service area
        {**base, "description": "x", "category_id": 999_999},
        {**base, "description": "x", "reporter_phone": "call me"},
    ]
    for body in bad:
        r = httpx.post(demo_site.base + "/api/v1/cases", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"]
    with demo_site.sessions() as db:
        assert db.scalar(select(func.count(Case.id))) == before


def test_an_open311_request_as_served_writes_its_case_and_token_at_once(
    demo_site: DemoSite,
) -> None:
    """On PostgreSQL the one statement (case, event, clock and the request's token) on the
    asynchronous pool; on SQLite one transaction in the session. The same rows either way."""
    from civgrid.open311.actions import issue_client
    from civgrid.open311.models import ApiClient, RequestToken

    with demo_site.sessions() as db:
        category_id, lon, lat = demo_report_target(db)
        code = db.get(Category, category_id).code  # type: ignore[union-attr]
        client, key = issue_client(db, name="served intake", actor=None)
    form = {"api_key": key, "service_code": code, "lat": str(lat), "long": str(lon)}
    answers = [
        httpx.post(
            demo_site.base + "/open311/v2/requests.json",
            data={**form, "description": f"井盖缺失 {i}"},
        )
        for i in range(3)
    ]
    assert [r.status_code for r in answers] == [200] * 3, answers[0].text
    posted = [r.json()[0] for r in answers]
    for doc in posted:
        r = httpx.get(f"{demo_site.base}/open311/v2/tokens/{doc['token']}.json")
        assert r.json()[0]["service_request_id"] == doc["service_request_id"]
    with demo_site.sessions() as db:
        tokens = db.scalars(select(RequestToken).where(RequestToken.client_id == client.id)).all()
        numbers = {db.get(Case, t.case_id).number for t in tokens}  # type: ignore[union-attr]
        assert numbers == {d["service_request_id"] for d in posted}
        used = db.get(ApiClient, client.id)
        assert used is not None and used.last_used_at is not None
        events = db.scalars(
            select(CaseEvent.case_id).where(CaseEvent.case_id.in_([t.case_id for t in tokens]))
        ).all()
        assert sorted(events) == sorted(t.case_id for t in tokens)  # one event each
