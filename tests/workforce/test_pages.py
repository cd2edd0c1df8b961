"""The office pages (users, a grid's staff) and the patrol pages, with a cookie session."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from tests.conftest import PASSWORD
from tests.desk.conftest import login


def test_an_admin_creates_edits_and_deactivates_a_user_and_the_session_ends(
    client: TestClient, db: Session, make_user
) -> None:
    admin = make_user("admin", ("division", "441900101"))
    csrf = login(client, admin)
    form = {
        "csrf_token": csrf,
        "username": "liwei",
        "display_name": "李伟",
        "password": PASSWORD,
        "role": "grid_worker",
        "employment": "part_time",
        "scopes": "division:441900101002",
    }
    r = client.post("/workforce/users", data=form, follow_redirects=False)
    assert r.status_code == 303
    uid = int(r.headers["location"].rsplit("/", 1)[1])
    wide = dict(form, username="wide", scopes="division:4419")
    assert client.post("/workforce/users", data=wide).status_code == 403
    bad = dict(form, username="bad", scopes="planet:earth")
    r = client.post("/workforce/users", data=bad)
    assert r.status_code == 422 and "planet" in r.text
    page = client.get(f"/workforce/users/{uid}")
    assert "李伟" in page.text

    worker = TestClient(client.app)
    login(worker, db.get(User, uid))
    assert worker.get("/field/patrol").status_code == 200
    r = client.post(
        f"/workforce/users/{uid}/deactivate", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert worker.get("/field/patrol", follow_redirects=False).status_code in (302, 303, 401)
    client.post(f"/workforce/users/{uid}/reactivate", data={"csrf_token": csrf})
    edit = {
        "csrf_token": csrf,
        "display_name": "李伟伟",
        "role": "grid_leader",
        "scopes": "division:441900101002",
    }
    assert (
        client.post(f"/workforce/users/{uid}/edit", data=edit, follow_redirects=False).status_code
        == 303
    )
    db.expire_all()
    assert (db.get(User, uid).display_name, db.get(User, uid).role) == ("李伟伟", "grid_leader")


def test_staffing_page_saves_posts_and_warns(
    client: TestClient, db: Session, make_user, staffed
) -> None:
    admin = make_user("admin", ("division", "441900101"))
    csrf = login(client, admin)
    page = client.get(f"/workforce/grids/{staffed.grid.id}")
    assert page.status_code == 200 and "5" in page.text
    form = {
        "csrf_token": csrf,
        "leader_id": str(staffed.leader.id),
        f"post_{staffed.worker.id}": "deputy",
    }
    r = client.post(f"/workforce/grids/{staffed.grid.id}", data=form, follow_redirects=False)
    assert r.status_code == 303
    db.refresh(staffed.grid)
    assert [(m.user_id, m.post) for m in staffed.grid.members] == [(staffed.worker.id, "deputy")]
    worker_csrf = login(client, staffed.worker)
    r = client.post(f"/workforce/grids/{staffed.grid.id}", data=dict(form, csrf_token=worker_csrf))
    assert r.status_code == 403


def test_patrol_pages_render(client: TestClient, staffed, make_user) -> None:
    login(client, staffed.worker)
    page = client.get("/field/patrol")
    assert page.status_code == 200
    assert "<script>" not in page.text and 'src="/static/workforce/patrol.js"' in page.text
    assert client.get("/workforce/patrols").status_code == 200
    login(client, make_user("dept_handler", ("division", "441900101")))
    assert client.get("/field/patrol").status_code == 403
