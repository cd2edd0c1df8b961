"""The generic permission test (NetBox ViewTestCases style), for every foundation resource:
anonymous → 401, wrong role → 403, right role in the wrong jurisdiction → 404 (as if missing),
right role in the right jurisdiction → 200."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.departments.models import Department


@dataclass
class Case:
    name: str
    url: str  # with {id}
    right_role: tuple[str, tuple[str, str]]
    wrong_role: tuple[str, tuple[str, str]]
    wrong_place: tuple[str, tuple[str, str]]


def _target_user(make_user, db: Session) -> Any:
    return make_user("grid_worker", ("division", "441900101002"))


def _target_department(make_user, db: Session) -> Any:
    dept = Department(code="T-SJ-1", name_zh="测试部门", division_code="441900101")
    db.add(dept)
    db.commit()
    return dept


CASES = [
    (
        _target_user,
        Case(
            "user",
            "/api/v1/users/{id}",
            right_role=("admin", ("division", "441900101")),
            wrong_role=("dispatcher", ("division", "441900101")),
            wrong_place=("admin", ("division", "441900102")),
        ),
    ),
    (
        _target_department,
        Case(
            "department",
            "/api/v1/departments/{id}",
            right_role=("dispatcher", ("division", "441900101")),
            wrong_role=("resident", ("division", "441900101")),
            wrong_place=("dispatcher", ("division", "441900102")),
        ),
    ),
]


@pytest.mark.parametrize(("target", "case"), CASES, ids=[c.name for _, c in CASES])
def test_generic_permissions(
    client: TestClient, db: Session, make_user, bearer, target, case: Case
) -> None:
    obj = target(make_user, db)
    url = case.url.format(id=obj.id)

    assert client.get(url).status_code == 401

    def as_(spec: tuple[str, tuple[str, str]]) -> int:
        role, scope = spec
        user = make_user(role, scope) if role != "resident" else make_user(role)
        return client.get(url, headers=bearer(user)).status_code

    assert as_(case.wrong_role) == 403
    assert as_(case.wrong_place) == 404
    assert as_(case.right_role) == 200
    missing = case.url.format(id=999_999)
    admin = make_user("admin", ("all", ""))
    assert client.get(missing, headers=bearer(admin)).status_code == 404


def test_lists_are_restricted(client: TestClient, db: Session, make_user, bearer) -> None:
    inside = make_user("grid_worker", ("division", "441900101002"))
    outside = make_user("grid_worker", ("division", "441900102001"))
    admin = make_user("admin", ("division", "441900101"))
    names = {u["username"] for u in client.get("/api/v1/users", headers=bearer(admin)).json()}
    assert inside.username in names
    assert outside.username not in names


def test_admin_cannot_grant_scope_outside_own(client: TestClient, make_user, bearer) -> None:
    admin = make_user("admin", ("division", "441900101"))
    body = {
        "username": "far",
        "password": "long-enough-1",
        "role": "grid_worker",
        "scopes": [{"kind": "division", "ref": "441900102"}],
    }
    r = client.post("/api/v1/users", json=body, headers=bearer(admin))
    assert r.status_code == 403
    body["scopes"] = [{"kind": "all", "ref": ""}]
    assert client.post("/api/v1/users", json=body, headers=bearer(admin)).status_code == 403


def test_user_create_validation(client: TestClient, make_user, bearer) -> None:
    admin = make_user("admin", ("all", ""))
    bad = {"username": "x y", "password": "short", "role": "emperor"}
    r = client.post("/api/v1/users", json=bad, headers=bearer(admin))
    assert r.status_code == 422
    fields = {e["loc"][-1] for e in r.json()["detail"]}
    assert {"username", "password", "role"} <= fields
    staff_without_scope = {"username": "noscope", "password": "long-enough-1", "role": "dispatcher"}
    r = client.post("/api/v1/users", json=staff_without_scope, headers=bearer(admin))
    assert r.status_code == 422
    assert "scope" in r.json()["detail"]
