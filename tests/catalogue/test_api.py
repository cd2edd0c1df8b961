"""The catalogue API: who may do what, audit rows, and bad input refused with nothing written."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, RoutingRule, Stage, TimeLimit
from civgrid.catalogue.service import get_category, time_limit_for


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _audited(db: Session, action: str) -> int:
    return _count_where(db, AuditEvent.action == action)


def _count_where(db: Session, *where) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0


def test_create_category(client: TestClient, db: Session, catalogue, make_user, bearer) -> None:  # type: ignore[no-untyped-def]
    body = {
        "code": "G18001",
        "name_zh": "古井护栏缺失",
        "name_en": "Old well without railing",
        "major_name_zh": "文化遗产",
        "major_name_en": "Heritage",
    }
    assert client.post("/api/v1/categories", json=body).status_code == 401
    worker = make_user("grid_worker", ("division", "441900101002"))
    assert client.post("/api/v1/categories", json=body, headers=bearer(worker)).status_code == 403
    admin = make_user("admin", ("all", ""))
    before = _count(db, Category)
    for bad, status, message in [
        ({**body, "code": "G1800X"}, 422, "must be G"),
        ({**body, "code": "M18001"}, 422, "must be G"),
        ({**body, "major_name_zh": ""}, 422, "major class"),
        ({**body, "code": "G13001"}, 409, "already exists"),
    ]:
        r = client.post("/api/v1/categories", json=bad, headers=bearer(admin))
        assert r.status_code == status, r.text
        assert message in r.json()["detail"]
    assert (
        client.post(
            "/api/v1/categories", json={**body, "colour": "red"}, headers=bearer(admin)
        ).status_code
        == 422
    )
    assert _count(db, Category) == before

    r = client.post("/api/v1/categories", json=body, headers=bearer(admin))
    assert r.status_code == 201, r.text
    assert r.json()["major_code"] == "G18"
    assert r.json()["standard_ref"] == "local"
    assert [c["code"] for c in client.get("/api/v1/categories", params={"q": "gjhl"}).json()] == [
        "G18001"
    ]
    # A second item of the same class inherits the class's names.
    r = client.post(
        "/api/v1/categories",
        json={"code": "g18002", "name_zh": "古树挂牌缺失"},
        headers=bearer(admin),
    )
    assert r.json()["major_name_en"] == "Heritage"
    assert _audited(db, "category.create") == 2


def test_time_limit_api(client: TestClient, db: Session, catalogue, make_user, bearer) -> None:  # type: ignore[no-untyped-def]
    body = {"category": "G07002", "stage": "handle", "amount": 3, "unit": "work_days"}
    assert client.put("/api/v1/time-limits", json=body).status_code == 401
    assert client.get("/api/v1/time-limits").status_code == 401
    dispatcher = make_user("dispatcher", ("division", "441900101"))
    assert client.put("/api/v1/time-limits", json=body, headers=bearer(dispatcher)).status_code == (
        403
    )
    assert client.get("/api/v1/time-limits", headers=bearer(dispatcher)).status_code == 200
    admin = make_user("admin", ("all", ""))
    before = _count(db, TimeLimit)
    for bad, status in [
        ({**body, "amount": -1}, 422),
        ({**body, "amount": 0}, 422),
        ({**body, "unit": "fortnights"}, 422),
        ({**body, "stage": "lunch"}, 422),
        ({**body, "category": "G99999"}, 404),
    ]:
        assert client.put("/api/v1/time-limits", json=bad, headers=bearer(admin)).status_code == (
            status
        )
    assert _count(db, TimeLimit) == before

    r = client.put("/api/v1/time-limits", json=body, headers=bearer(admin))
    assert r.status_code == 200, r.text
    graffiti = get_category(db, "G07002")
    assert time_limit_for(db, graffiti, Stage.HANDLE) == (3, TimeUnit.WORK_DAYS)
    listed = client.get(
        "/api/v1/time-limits", params={"category": "G07002"}, headers=bearer(admin)
    ).json()
    assert [(t["stage"], t["amount"], t["unit"]) for t in listed] == [("handle", 3, "work_days")]

    params = {"category": "G07002", "stage": "handle"}
    assert client.delete("/api/v1/time-limits", params=params).status_code == 401
    assert (
        client.delete("/api/v1/time-limits", params=params, headers=bearer(dispatcher)).status_code
        == 403
    )
    effective = client.get(
        "/api/v1/time-limits/effective", params={"category": "G07002"}, headers=bearer(dispatcher)
    ).json()
    assert [(e["stage"], e["amount"], e["unit"], e["source"]) for e in effective][:3] == [
        ("register", 1, "work_hours", "built-in"),
        ("dispatch", 1, "work_hours", "built-in"),
        ("handle", 3, "work_days", "category"),
    ]
    assert (
        client.get("/api/v1/time-limits/effective", params={"category": "G07002"}).status_code
        == 401
    )
    r = client.delete("/api/v1/time-limits", params=params, headers=bearer(admin))
    assert r.status_code == 204
    assert time_limit_for(db, graffiti, Stage.HANDLE) == (5, TimeUnit.WORK_DAYS)
    again = client.delete("/api/v1/time-limits", params=params, headers=bearer(admin))
    assert again.status_code == 404
    assert _audited(db, "time_limit.set") == 1
    assert _audited(db, "time_limit.delete") == 1


def test_routing_rule_edits_are_scoped(  # type: ignore[no-untyped-def]
    client: TestClient, db: Session, catalogue, departments, make_user, bearer
) -> None:
    here = add_routing_rule(
        db, department_code="T-CG", major_code="M06", division_prefix="441900101", actor=None
    )
    there = add_routing_rule(
        db, department_code="T-SL", major_code="M06", division_prefix="441900102", actor=None
    )
    admin = make_user("admin", ("division", "441900101"))
    seen = client.get("/api/v1/routing-rules", headers=bearer(admin)).json()
    assert [r["id"] for r in seen] == [here.id]
    assert seen[0]["department_code"] == "T-CG"

    url = f"/api/v1/routing-rules/{here.id}"
    assert client.patch(url, json={"priority": 5}).status_code == 401
    dispatcher = make_user("dispatcher", ("division", "441900101"))
    assert client.patch(url, json={"priority": 5}, headers=bearer(dispatcher)).status_code == 403
    assert (
        client.patch(
            f"/api/v1/routing-rules/{there.id}", json={"priority": 5}, headers=bearer(admin)
        ).status_code
        == 404
    ), "a rule outside the jurisdiction looks missing"
    for bad, status in [
        ({"division_prefix": "441900102"}, 404),  # moving it out of the jurisdiction
        ({"division_prefix": "4419001010"}, 422),  # inside, but no division has 10 digits
        ({"department": "NOPE"}, 422),
        ({"division_prefix": "44ab"}, 422),
        ({"priority": 10**12}, 422),
        ({"color": "red"}, 422),
    ]:
        assert client.patch(url, json=bad, headers=bearer(admin)).status_code == status, bad
    db.refresh(here)
    assert (here.department.code, here.division_prefix, here.priority) == ("T-CG", "441900101", 0)

    r = client.patch(
        url,
        json={"department": "T-HW", "division_prefix": "441900101002", "priority": 2},
        headers=bearer(admin),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["department_code"], r.json()["division_prefix"]) == ("T-HW", "441900101002")
    assert _audited(db, "routing_rule.update") == 1

    assert client.delete(url, headers=bearer(dispatcher)).status_code == 403
    assert client.delete(url, headers=bearer(admin)).status_code == 204
    assert db.get(RoutingRule, there.id) is not None
    assert _count(db, RoutingRule) == 1
    assert _audited(db, "routing_rule.delete") == 1


def test_bad_prefix_length_refused(  # type: ignore[no-untyped-def]
    client: TestClient, db: Session, catalogue, departments, make_user, bearer
) -> None:
    admin = make_user("admin", ("all", ""))
    body = {"department": "T-CG", "major_code": "M06", "division_prefix": "4419001"}
    r = client.post("/api/v1/routing-rules", json=body, headers=bearer(admin))
    assert r.status_code == 422
    assert "2, 4, 6, 9 or 12 digits" in r.json()["detail"]
    assert _count(db, RoutingRule) == 0


def test_township_admin_cannot_edit_the_shared_list(  # type: ignore[no-untyped-def]
    client: TestClient, db: Session, catalogue, make_user, bearer
) -> None:
    township_admin = make_user("admin", ("division", "441900101"))
    headers = bearer(township_admin)
    r = client.patch("/api/v1/categories/G13001", json={"is_published": False}, headers=headers)
    assert r.status_code == 403
    assert "deployment-wide" in r.json()["detail"]
    body = {"category": "G13001", "stage": "handle", "amount": 1, "unit": "work_days"}
    assert client.put("/api/v1/time-limits", json=body, headers=headers).status_code == 403
    body = {"code": "G18001", "name_zh": "测试", "major_name_zh": "测试"}
    assert client.post("/api/v1/categories", json=body, headers=headers).status_code == 403
    db.expire_all()
    assert get_category(db, "G13001").is_published is True
    assert _audited(db, "category.update") == 0


def test_reads_need_staff(  # type: ignore[no-untyped-def]
    client: TestClient, db: Session, catalogue, departments, make_user, bearer
) -> None:
    add_routing_rule(
        db, department_code="T-CG", major_code="M06", division_prefix="441900101", actor=None
    )
    resident = make_user("resident")
    for url in (
        "/api/v1/routing-rules",
        "/api/v1/time-limits",
        "/api/v1/time-limits/effective?category=M06001",
        "/api/v1/categories/M06001/suggestion?division=441900101002",
    ):
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers=bearer(resident)).status_code == 403, url
    # The list itself is public: the resident portal and Open311 show it.
    assert client.get("/api/v1/categories/M06010").json()["name_en"] == "Exposed rubbish"


def test_search_api_validates_kind(client: TestClient, catalogue) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/categories", params={"q": "供水井盖", "kind": "component"})
    assert [c["code"] for c in r.json()] == ["C01001"]
    assert client.get("/api/v1/categories", params={"kind": "manhole"}).status_code == 422
    assert client.get("/api/v1/categories", params={"q": "x" * 51}).status_code == 422


def test_category_patch_refuses_blank_names(  # type: ignore[no-untyped-def]
    client: TestClient, db: Session, catalogue, make_user, bearer
) -> None:
    admin = make_user("admin", ("all", ""))
    r = client.patch("/api/v1/categories/G13001", json={"name_zh": "  "}, headers=bearer(admin))
    assert r.status_code == 422
    db.expire_all()
    assert get_category(db, "G13001").name_zh == "拖欠工资"
