"""Staffing a grid and administering users over the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.grids.actions import GridDraft, create_grid
from tests.conftest import PASSWORD
from tests.grids.conftest import VILLAGE, sq


def _workers(make_user, code: str, n: int) -> list:
    return [make_user("grid_worker", ("grid", code)) for _ in range(n)]


def test_staffing_warns_outside_five_to_seven_and_a_worker_may_serve_two_grids(
    client: TestClient, db: Session, make_user, bearer, staffed
) -> None:
    admin = bearer(make_user("admin", ("division", "441900101")))
    url = f"/api/v1/grids/{staffed.grid.id}/staff"
    r = client.get(url, headers=admin)
    assert r.json()["warnings"] == ["understaffed: 2 < 5"]
    assert r.json()["leader"]["user_id"] == staffed.leader.id
    crew = _workers(make_user, staffed.grid.code, 4)
    members = [{"user_id": staffed.worker.id, "post": "deputy"}] + [
        {"user_id": w.id, "post": "part_time"} for w in crew
    ]
    r = client.put(url, json={"leader_id": staffed.leader.id, "members": members}, headers=admin)
    assert r.status_code == 200
    assert r.json()["warnings"] == []
    assert {m["post"] for m in r.json()["members"]} == {"deputy", "part_time"}
    many = members + [{"user_id": w.id} for w in _workers(make_user, staffed.grid.code, 2)]
    r = client.put(url, json={"leader_id": staffed.leader.id, "members": many}, headers=admin)
    assert r.json()["warnings"] == ["overstaffed: 8 > 7"]
    other = create_grid(
        db, GridDraft(VILLAGE, sq(300, 0, 400, 100), "第二片", 400, 1000), actor=None
    )
    r = client.put(
        f"/api/v1/grids/{other.id}/staff",
        json={"members": [{"user_id": staffed.worker.id}]},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["members"][0]["user_id"] == staffed.worker.id
    assert client.get(url, headers=admin).json()["members"][0]["user_id"] == staffed.worker.id


def test_staffing_refuses_unknown_users_and_residents(
    client: TestClient, make_user, bearer, staffed
) -> None:
    admin = bearer(make_user("admin", ("division", "441900101")))
    url = f"/api/v1/grids/{staffed.grid.id}/staff"
    assert (
        client.put(url, json={"members": [{"user_id": 999_999}]}, headers=admin).status_code == 422
    )
    resident = make_user("resident")
    assert (
        client.put(url, json={"members": [{"user_id": resident.id}]}, headers=admin).status_code
        == 422
    )
    bad = client.put(
        url, json={"members": [{"user_id": staffed.worker.id, "post": "boss"}]}, headers=admin
    )
    assert bad.status_code == 422


def test_staff_permissions(client: TestClient, make_user, bearer, staffed) -> None:
    url = f"/api/v1/grids/{staffed.grid.id}/staff"
    body = {"members": []}
    assert client.put(url, json=body).status_code == 401
    assert client.put(url, json=body, headers=bearer(staffed.leader)).status_code == 403
    outsider = make_user("admin", ("division", "441900102"))
    assert client.put(url, json=body, headers=bearer(outsider)).status_code == 404
    assert client.get(url, headers=bearer(make_user("resident"))).status_code == 403
    assert client.get(url, headers=bearer(staffed.worker)).status_code == 200


def test_deactivation_ends_tokens_and_reactivation_lets_them_log_in_again(
    client: TestClient, make_user, bearer
) -> None:
    admin = bearer(make_user("admin", ("division", "441900101")))
    worker = make_user("grid_worker", ("division", "441900101002"))
    token = bearer(worker)
    assert client.get("/api/v1/me", headers=token).status_code == 200
    r = client.post(f"/api/v1/users/{worker.id}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=token).status_code == 401
    login = {"username": worker.username, "password": PASSWORD}
    assert client.post("/api/v1/auth/token", data=login).status_code == 401
    assert client.post(f"/api/v1/users/{worker.id}/reactivate", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=token).status_code == 401  # the old token stays dead
    assert client.post("/api/v1/auth/token", data=login).status_code == 200


def test_password_reset_and_role_change_end_tokens(client: TestClient, make_user, bearer) -> None:
    admin = bearer(make_user("admin", ("division", "441900101")))
    worker = make_user("grid_worker", ("division", "441900101002"))
    token = bearer(worker)
    r = client.patch(
        f"/api/v1/users/{worker.id}",
        json={
            "role": "grid_leader",
            "display_name": "王网格长",
            "scopes": [{"kind": "division", "ref": "441900101002"}],
        },
        headers=admin,
    )
    assert r.status_code == 200
    assert (r.json()["role"], r.json()["display_name"]) == ("grid_leader", "王网格长")
    assert client.get("/api/v1/me", headers=token).status_code == 401
    token = bearer(worker)
    r = client.post(
        f"/api/v1/users/{worker.id}/password", json={"password": "new-secret-9"}, headers=admin
    )
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=token).status_code == 401
    login = {"username": worker.username, "password": "new-secret-9"}
    assert client.post("/api/v1/auth/token", data=login).status_code == 200


def test_user_admin_checks_role_place_and_granted_scopes(
    client: TestClient, make_user, bearer
) -> None:
    worker = make_user("grid_worker", ("division", "441900101002"))
    url = f"/api/v1/users/{worker.id}/deactivate"
    assert client.post(url).status_code == 401
    assert (
        client.post(
            url, headers=bearer(make_user("dispatcher", ("division", "441900101")))
        ).status_code
        == 403
    )
    assert (
        client.post(url, headers=bearer(make_user("admin", ("division", "441900102")))).status_code
        == 404
    )
    local = bearer(make_user("admin", ("division", "441900101")))
    wide = {"scopes": [{"kind": "division", "ref": "4419"}]}
    assert client.patch(f"/api/v1/users/{worker.id}", json=wide, headers=local).status_code == 403
    assert (
        client.patch(f"/api/v1/users/{worker.id}", json={"scopes": []}, headers=local).status_code
        == 422
    )


def test_the_duty_roster_shows_on_the_command_center(
    client: TestClient, db: Session, make_user, bearer
) -> None:
    from datetime import timedelta

    from civgrid.db.base import utcnow
    from tests.desk.conftest import login

    chief = make_user("duty_chief", ("division", "441900101"))
    on = make_user("dispatcher", ("division", "441900101"), username="zhiban")
    shift = {
        "user_id": on.id,
        "division_code": "441900101",
        "starts_at": (utcnow() - timedelta(hours=1)).isoformat(),
        "ends_at": (utcnow() + timedelta(hours=7)).isoformat(),
        "post": "白班值班员",
    }
    assert client.post("/api/v1/duty", json=shift, headers=bearer(chief)).status_code == 201
    backwards = dict(shift, ends_at=shift["starts_at"], starts_at=shift["ends_at"])
    assert client.post("/api/v1/duty", json=backwards, headers=bearer(chief)).status_code == 422
    far = dict(shift, division_code="441900102")
    assert client.post("/api/v1/duty", json=far, headers=bearer(chief)).status_code == 404
    assert client.post("/api/v1/duty", json=shift, headers=bearer(on)).status_code == 403
    now = client.get("/api/v1/duty/now", headers=bearer(on)).json()
    assert [(d["user_id"], d["post"]) for d in now] == [(on.id, "白班值班员")]
    login(client, chief)
    assert "白班值班员" in client.get("/desk/command").text


def test_neighbourhood_units_are_created_placed_edited_and_retired(
    client: TestClient, make_user, bearer, staffed
) -> None:
    admin = bearer(make_user("admin", ("division", "441900101")))
    body = {"name": "幸福楼联户", "households": 24, "lon": 113.7805, "lat": 23.0905}
    r = client.post(f"/api/v1/grids/{staffed.grid.id}/units", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["lon"] == 113.7805
    uid = r.json()["id"]
    too_big = dict(body, households=80)
    assert client.put(f"/api/v1/units/{uid}", json=too_big, headers=admin).status_code == 422
    r = client.put(f"/api/v1/units/{uid}", json=dict(body, households=30), headers=admin)
    assert r.json()["households"] == 30
    assert (
        client.put(f"/api/v1/units/{uid}", json=body, headers=bearer(staffed.leader)).status_code
        == 403
    )
    listed = client.get(f"/api/v1/grids/{staffed.grid.id}/units", headers=admin).json()
    assert [u["id"] for u in listed] == [uid]
    assert client.post(f"/api/v1/units/{uid}/retire", headers=admin).status_code == 204
    assert client.get(f"/api/v1/grids/{staffed.grid.id}/units", headers=admin).json() == []
