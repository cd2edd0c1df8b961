"""Browser sessions end on the server (issue 18, defect 6): a copied cookie stops working at
logout, password change and deactivation; so do the user's bearer tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.auth import actions
from tests.auth.test_login import _csrf
from tests.conftest import PASSWORD


def _login(client: TestClient, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Log in through the form; the session cookie, as an attacker would copy it."""
    r = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return {"civgrid_session": client.cookies["civgrid_session"]}


def _works(app, cookies: dict[str, str]) -> bool:  # type: ignore[no-untyped-def]
    with TestClient(app, cookies=cookies) as thief:
        r = thief.get("/api/v1/me")
    return r.status_code == 200


def test_logout_ends_a_copied_cookie(app, client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("dispatcher", ("division", "441900101"))
    copied = _login(client, user)
    other_device = _login(TestClient(app), user)
    assert _works(app, copied)
    r = client.post("/logout", data={"csrf_token": _csrf(client, "/")}, follow_redirects=False)
    assert r.status_code == 303
    assert not _works(app, copied)
    assert _works(app, other_device), "logging out here leaves the user's other devices alone"


def test_password_change_and_deactivation_end_sessions_and_tokens(
    app, client: TestClient, db: Session, make_user, bearer
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("dispatcher", ("division", "441900101"))
    copied, headers = _login(client, user), bearer(user)
    actions.set_password(db, user, "another long one", actor=None)
    assert not _works(app, copied)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    actions.set_password(db, user, PASSWORD, actor=None)
    copied, headers = _login(TestClient(app), user), bearer(user)
    assert _works(app, copied)
    actions.deactivate_user(db, user, actor=None)
    assert not _works(app, copied)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_case_intake_by_a_browser_session_needs_its_csrf_token(
    client: TestClient,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    """The intake's own authentication (``current_actor``) checks the CSRF token of a session's
    user itself: without it 403, with it the request reaches the body's checks (422 here)."""
    assert client.post("/api/v1/cases", json={}).status_code == 401
    _login(client, make_user("dispatcher", ("division", "441900101")))
    assert client.post("/api/v1/cases", json={}).status_code == 403
    token = _csrf(client, "/")
    assert client.post("/api/v1/cases", json={}, headers={"X-CSRF-Token": token}).status_code == 422


def test_open311_gets_no_cookie_session(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    """Open311 is authenticated by its API key: a browser's session cookie is neither read nor
    renewed there (the session middleware is skipped), while a page renews it."""
    _login(client, make_user("dispatcher", ("division", "441900101")))
    r = client.get("/open311/v2/services.json")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    assert client.get("/portal").headers.get("set-cookie", "").startswith("civgrid_session=")
