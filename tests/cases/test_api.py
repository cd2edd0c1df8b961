"""The case API: every branch over HTTP, the generic permission test, lists, personal-data log."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from tests.cases.conftest import png_bytes

ACTION_PATHS = [
    "register",
    "reject",
    "dispatch",
    "accept",
    "return",
    "start",
    "handle",
    "verify",
    "close",
    "evaluate",
    "self-handle",
    "extension",
    "extension/approve",
    "suspend",
    "resume",
    "void",
    "merge",
    "reopen",
    "escalate",
    "summons",
    "summons/{summons_id}/ack",
]


def _report(client: TestClient, world, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {
        "category_id": world.category.id,
        "lon": world.lon,
        "lat": world.lat,
        "description": "井盖缺失 / missing manhole cover",
        "source": "patrol",
    }
    body.update(kw)
    r = client.post("/api/v1/cases", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _post(
    client: TestClient,
    number: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    r = client.post(f"/api/v1/cases/{number}/{path}", json=body or {}, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def _photo(client: TestClient, number: str, headers: dict[str, str], kind: str = "after") -> int:
    r = client.post(
        f"/api/v1/cases/{number}/attachments",
        files={"file": ("p.png", png_bytes(), "image/png")},
        data={"kind": kind},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_every_action_is_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/cases"] and "get" in paths["/api/v1/cases"]
    for p in ACTION_PATHS:
        assert "post" in paths[f"/api/v1/cases/{{number}}/{p}"], p
    assert "post" in paths["/api/v1/cases/{number}/attachments"]
    assert "get" in paths["/api/v1/cases/{number}/attachments/{attachment_id}"]


def test_main_line_over_http(client: TestClient, bearer, world) -> None:
    w, d, h = bearer(world.worker), bearer(world.dispatcher), bearer(world.handler)
    case = _report(client, world, w)
    n = case["number"]
    assert case["state"] == "reported" and case["group"] == "open"
    assert _post(client, n, "register", d)["suggested_department"] == world.dept.code
    assert _post(client, n, "dispatch", d)["department_code"] == world.dept.code
    _post(client, n, "accept", h)
    _post(client, n, "extension", h, {"amount": 1, "reason": "rain"})
    assert _post(client, n, "extension/approve", d)["extension_pending"] is None
    _post(client, n, "start", h)
    photo = _photo(client, n, h)
    _post(client, n, "handle", h, {"feedback": "replaced", "attachment_ids": [photo]})
    _post(client, n, "verify", w, {"passed": False, "note": "wobbles"})
    _post(client, n, "handle", h, {"feedback": "fixed", "attachment_ids": [photo]})
    _post(client, n, "verify", w, {"passed": True})
    _post(client, n, "close", d, {"outcome": "Cover replaced."})
    done = _post(client, n, "evaluate", d, {"rating": 4})
    assert done["state"] == "evaluated" and done["group"] == "closed" and done["rating"] == 4
    actions = [e["action"] for e in done["events"]]
    assert actions[0] == "report" and actions[-1] == "evaluate" and "verify_fail" in actions
    assert {c["light"] for c in done["clocks"]} <= {"green", "yellow", "red"}
    reopened = _post(client, n, "reopen", d, {"reason": "came back"})
    assert reopened["state"] == "registered"


def test_branches_over_http(client: TestClient, bearer, world) -> None:
    w, d, h = bearer(world.worker), bearer(world.dispatcher), bearer(world.handler)
    h2 = bearer(world.other_handler)
    a = _report(client, world, w)["number"]
    assert _post(client, a, "reject", d, {"reason": "private yard"})["state"] == "rejected"
    b = _report(client, world, w)["number"]
    photo = _photo(client, b, w)
    assert (
        _post(client, b, "self-handle", w, {"note": "moved", "attachment_ids": [photo]})["state"]
        == "closed"
    )
    c = _report(client, world, w)
    dup = _report(client, world, w)
    assert c["number"] in [x["number"] for x in dup["likely_duplicates"]]
    merged = _post(client, dup["number"], "merge", d, {"into": c["number"]})
    assert merged["state"] == "merged" and merged["merged_into"] == c["number"]
    cn = c["number"]
    _post(client, cn, "register", d)
    summoned = _post(client, cn, "summons", d, {"departments": [world.dept.code, world.dept2.code]})
    sid = next(s["id"] for s in summoned["summons"] if s["department_code"] == world.dept2.code)
    acked = _post(client, cn, f"summons/{sid}/ack", h2, {"note": "here"})
    assert next(s for s in acked["summons"] if s["id"] == sid)["acknowledged_at"]
    _post(client, cn, "dispatch", d, {"department": world.dept2.code})
    _post(client, cn, "return", h2, {"reason": "roads, not ours"})
    _post(client, cn, "dispatch", d)
    _post(client, cn, "suspend", d, {"reason": "awaiting budget"})
    assert _post(client, cn, "resume", d)["state"] == "dispatched"
    esc = _post(client, cn, "escalate", d, {"reason": "township matter"})
    assert esc["level"] == "village"
    _post(client, cn, "accept", h)
    e = _report(client, world, w)["number"]
    assert _post(client, e, "void", d, {"reason": "test"})["state"] == "voided"


def test_refusals_over_http(client: TestClient, bearer, world) -> None:
    w, d = bearer(world.worker), bearer(world.dispatcher)
    n = _report(client, world, w)["number"]
    body = _post(client, n, "close", d, {"outcome": "x"}, status=409)
    assert body["state"] == "reported" and "register" in body["allowed_actions"]
    assert "reported" in body["detail"]
    _post(client, n, "reject", d, {"reason": ""}, status=422)
    _post(client, n, "dispatch", d, {"department": "NOPE"}, status=409)
    r = client.post(
        "/api/v1/cases",
        json={"category_id": world.category.id, "lon": 0, "lat": 0, "description": "x"},
        headers=w,
    )
    assert r.status_code == 422 and "outside" in r.json()["detail"]


def test_generic_permissions(client: TestClient, bearer, world, make_user) -> None:
    n = _report(client, world, bearer(world.worker))["number"]
    url = f"/api/v1/cases/{n}"
    assert client.get(url).status_code == 401
    resident = make_user("resident")
    assert client.post(f"{url}/register", json={}, headers=bearer(resident)).status_code == 403
    assert client.get(url, headers=bearer(resident)).status_code == 404  # not their report
    assert client.post(f"{url}/register", json={}, headers=bearer(world.worker)).status_code == 403
    assert client.get(url, headers=bearer(world.outsider)).status_code == 404
    assert (
        client.post(f"{url}/register", json={}, headers=bearer(world.outsider)).status_code == 404
    )
    assert client.get(url, headers=bearer(world.dispatcher)).status_code == 200
    assert client.get(url, headers=bearer(world.handler)).status_code == 404  # not dispatched
    assert (
        client.get(
            "/api/v1/cases/441900101-20000101-99999", headers=bearer(world.admin)
        ).status_code
        == 404
    )


def test_list_is_scoped_and_filtered(client: TestClient, bearer, world) -> None:
    w, d = bearer(world.worker), bearer(world.dispatcher)
    a = _report(client, world, w)["number"]
    b = _report(client, world, w)["number"]
    _post(client, b, "register", d)
    mine = {c["number"] for c in client.get("/api/v1/cases", headers=d).json()}
    assert {a, b} <= mine
    registered = client.get("/api/v1/cases?state=registered", headers=d).json()
    assert [c["number"] for c in registered] == [b]
    assert client.get("/api/v1/cases", headers=bearer(world.outsider)).json() == []
    assert client.get("/api/v1/cases", headers=bearer(world.handler)).json() == []
    listed = client.get("/api/v1/cases", headers=d).json()[0]
    assert "reporter_phone" not in listed


def test_reading_reporter_contact_is_logged(client: TestClient, db: Session, bearer, world) -> None:
    n = _report(client, world, bearer(world.worker), reporter_phone="13912345678")["number"]
    before = len(
        list(db.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.read")))
    )
    body = client.get(f"/api/v1/cases/{n}", headers=bearer(world.dispatcher)).json()
    assert body["reporter_phone"] == "13912345678"
    rows = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.read")))
    assert len(rows) == before + 1
    assert rows[-1].actor_id == world.dispatcher.id and rows[-1].object_type == "case_reporter"
    # the grid worker who can see the case does not see the contact, and nothing is logged
    body = client.get(f"/api/v1/cases/{n}", headers=bearer(world.worker)).json()
    assert body["reporter_phone"] is None
    after = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.read")))
    assert len(after) == len(rows)


def test_duplicates_endpoint(client: TestClient, bearer, world) -> None:
    w = bearer(world.worker)
    n = _report(client, world, w)["number"]
    q = f"category_id={world.category.id}&lon={world.lon}&lat={world.lat}"
    found = client.get(f"/api/v1/cases/duplicates?{q}", headers=w).json()
    assert [x["number"] for x in found] == [n]
    assert client.get(f"/api/v1/cases/duplicates?{q}", headers=bearer(world.outsider)).json() == []


def test_list_query_count_does_not_grow_with_rows(
    client: TestClient, db: Session, bearer, world, monkeypatch
) -> None:
    from sqlalchemy import event

    from civgrid.db import cache

    # The remembered token stays remembered however slowly the machine runs (see the grid list).
    monkeypatch.setattr(cache, "RECHECK_S", 3600.0)

    h = bearer(world.dispatcher)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def listed() -> int:
        statements.clear()
        event.listen(db.get_bind(), "before_cursor_execute", count)
        try:
            assert client.get("/api/v1/cases", headers=h).status_code == 200
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", count)
        return len(statements)

    listed()  # the first request with the token looks it up; later ones find it remembered
    world.report()
    baseline = listed()
    for _ in range(5):
        world.report()
    assert listed() == baseline
