"""Routing rules: the most specific rule wins; rules are data edited by admins through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, CategoryKind, RoutingRule
from civgrid.catalogue.service import get_category, most_specific_first, suggest_department
from civgrid.errors import Invalid


def test_specificity(db: Session, catalogue, departments) -> None:  # type: ignore[no-untyped-def]
    dump = get_category(db, "M06001")
    add_routing_rule(
        db, department_code="T-GL", major_code="M06", division_prefix="441900", actor=None
    )
    assert suggest_department(db, dump, "441900101002").code == "T-GL"
    add_routing_rule(
        db, department_code="T-CG", major_code="M06", division_prefix="441900101", actor=None
    )
    assert suggest_department(db, dump, "441900101002").code == "T-CG", "longer prefix wins"
    assert suggest_department(db, dump, "441900102001").code == "T-GL"
    add_routing_rule(db, department_code="T-HW", category=dump, division_prefix="", actor=None)
    assert suggest_department(db, dump, "441900101002").code == "T-HW", "category beats class"
    assert suggest_department(db, dump, "110101001001").code == "T-HW"
    assert suggest_department(db, get_category(db, "M07001"), "441900101002") is None
    departments["T-HW"].is_active = False
    db.commit()
    assert suggest_department(db, dump, "441900101002").code == "T-CG", (
        "inactive departments skipped"
    )


@given(
    rules=st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from(["", "44", "4419", "441900", "441900101", "441900101002", "441900102"]),
            st.integers(-3, 3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_most_specific_rule_first(rules: list[tuple[bool, str, int]]) -> None:
    objs = [
        RoutingRule(
            category_id=1 if by_category else None,
            major_code=None if by_category else "M06",
            division_prefix=prefix,
            priority=priority,
            department_id=1,
        )
        for by_category, prefix, priority in rules
    ]
    objs.append(RoutingRule(major_code="M06", division_prefix="", priority=0, department_id=1))
    ordered = most_specific_first(objs, "441900101002")
    applicable = [r for r in objs if "441900101002".startswith(r.division_prefix)]
    assert sorted(map(id, ordered)) == sorted(map(id, applicable))

    def key(r: RoutingRule) -> tuple[bool, int, int]:
        return (r.category_id is not None, len(r.division_prefix), r.priority)

    assert [key(r) for r in ordered] == sorted((key(r) for r in applicable), reverse=True)


def test_bad_rules_are_refused_and_nothing_written(db: Session, catalogue, departments) -> None:  # type: ignore[no-untyped-def]
    dump = get_category(db, "M06001")
    before = db.scalar(select(func.count()).select_from(RoutingRule))
    for kwargs, message in [
        ({"department_code": "NOPE", "major_code": "M06"}, "unknown department"),
        ({"department_code": "T-HW", "major_code": "Z99"}, "unknown major class"),
        ({"department_code": "T-HW"}, "either a category or a major class"),
        ({"department_code": "T-HW", "category": dump, "major_code": "M06"}, "either a category"),
        ({"department_code": "T-HW", "major_code": "M06", "division_prefix": "44ab"}, "digits"),
    ]:
        with pytest.raises(Invalid, match=message):
            add_routing_rule(db, actor=None, **kwargs)
    assert db.scalar(select(func.count()).select_from(RoutingRule)) == before


def test_api_permissions_and_suggestion(
    client: TestClient, db: Session, catalogue, departments, make_user, bearer
) -> None:  # type: ignore[no-untyped-def]
    body = {"department": "T-CG", "major_code": "M06", "division_prefix": "441900101"}
    assert client.post("/api/v1/routing-rules", json=body).status_code == 401
    dispatcher = make_user("dispatcher", ("division", "441900101"))
    assert (
        client.post("/api/v1/routing-rules", json=body, headers=bearer(dispatcher)).status_code
        == 403
    )
    far_admin = make_user("admin", ("division", "441900102"))
    assert (
        client.post("/api/v1/routing-rules", json=body, headers=bearer(far_admin)).status_code
        == 404
    )
    admin = make_user("admin", ("division", "441900101"))
    r = client.post("/api/v1/routing-rules", json=body, headers=bearer(admin))
    assert r.status_code == 201, r.text
    s = client.get(
        "/api/v1/categories/M06001/suggestion",
        params={"division": "441900101002"},
        headers=bearer(dispatcher),
    ).json()
    assert s["department"] == "T-CG"
    bad = client.post(
        "/api/v1/routing-rules", json={**body, "department": "NOPE"}, headers=bearer(admin)
    )
    assert bad.status_code == 422
    assert "unknown department" in bad.json()["detail"]


def test_category_api(client: TestClient, catalogue, make_user, bearer) -> None:  # type: ignore[no-untyped-def]
    hits = client.get("/api/v1/categories", params={"q": "欠薪"}).json()
    assert [h["code"] for h in hits] == ["G13001"]
    admin = make_user("admin", ("all", ""))
    r = client.patch(
        "/api/v1/categories/G13001", json={"is_published": False}, headers=bearer(admin)
    )
    assert r.status_code == 200
    assert r.json()["is_published"] is False
    worker = make_user("grid_worker", ("division", "441900101002"))
    assert (
        client.patch(
            "/api/v1/categories/G13001", json={"is_published": True}, headers=bearer(worker)
        ).status_code
        == 403
    )
    assert (
        client.patch(
            "/api/v1/categories/G13001", json={"code": "X"}, headers=bearer(admin)
        ).status_code
        == 422
    )
    assert client.get("/api/v1/categories/NOPE").status_code == 404


def test_demo_township_routes_every_class(db: Session) -> None:
    from civgrid.demo import load_catalogue_and_routing, load_departments

    load_departments(db)
    load_catalogue_and_routing(db)
    majors = db.scalars(
        select(Category.major_code).where(Category.kind != CategoryKind.COMPONENT).distinct()
    ).all()
    assert len(majors) == 10 + 17
    for major in majors:
        first = db.scalar(select(Category).where(Category.major_code == major).limit(1))
        assert first is not None
        assert suggest_department(db, first, "441900101002") is not None, major
        assert suggest_department(db, first, "441900102001") is None, "only the demo township"
    complaint = suggest_department(db, get_category(db, "G17001"), "441900101002")
    assert complaint is not None and complaint.code == "DG-SJ-WG"
    begging = suggest_department(db, get_category(db, "M09003"), "441900101002")
    parking = suggest_department(db, get_category(db, "M09009"), "441900101002")
    assert (begging and begging.code, parking and parking.code) == ("DG-SJ-MZ", "DG-SJ-CG")


PREFIXES = ["", "44", "4419", "441900", "441900101", "441900101002", "441900102", "110101"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rules=st.lists(
        st.tuples(
            st.sampled_from(["M06001", "M06010", "M06", "M07"]),
            st.sampled_from(PREFIXES),
            st.integers(-2, 2),
            st.sampled_from(["T-HW", "T-CG", "T-GL", "T-SL"]),
        ),
        max_size=8,
    ),
    place=st.sampled_from(["441900101002", "441900102001", "110101001001"]),
    inactive=st.sampled_from(["", "T-HW", "T-CG"]),
)
def test_suggestion_matches_brute_force(  # type: ignore[no-untyped-def]
    db: Session, catalogue, departments, rules, place: str, inactive: str
) -> None:
    db.execute(delete(RoutingRule))
    for code, dept in departments.items():
        dept.is_active = code != inactive
    db.commit()
    dump = get_category(db, "M06001")
    made = []
    for target, prefix, priority, dept in rules:
        by_category = len(target) > 3
        made.append(
            add_routing_rule(
                db,
                department_code=dept,
                category=get_category(db, target) if by_category else None,
                major_code=None if by_category else target,
                division_prefix=prefix,
                priority=priority,
                actor=None,
            )
        )
    # Brute force: every rule for this category or its class that covers the place and
    # names an active department; the most specific one, the oldest on a tie.
    candidates = [
        (r.category_id is not None, len(r.division_prefix), r.priority, -r.id, r.department.code)
        for r in made
        if (r.category_id == dump.id or r.major_code == dump.major_code)
        and place.startswith(r.division_prefix)
        and r.department.code != inactive
    ]
    expected = max(candidates)[-1] if candidates else None
    got = suggest_department(db, dump, place)
    assert (got.code if got else None) == expected
