"""Logins, tokens, CSRF and rate limiting: clear 4xx answers, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.auth.models import ApiToken
from civgrid.db.base import utcnow
from tests.conftest import PASSWORD


def _csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_token_login_and_me(client: TestClient, make_user, bearer) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    r = client.get("/api/v1/me", headers=bearer(user))
    assert r.status_code == 200
    assert r.json()["username"] == user.username
    assert r.json()["scopes"] == [{"kind": "division", "ref": "441900101"}]


def test_wrong_password_is_401_and_audited(client: TestClient, db: Session, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    r = client.post("/api/v1/auth/token", data={"username": user.username, "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong username or password"
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "login.failed" in actions


def test_unknown_user_gets_the_same_answer(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "whatever1"})
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong username or password"


def test_repeated_failures_are_rate_limited(client: TestClient, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    codes = [
        client.post(
            "/api/v1/auth/token", data={"username": user.username, "password": "bad-pass"}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    r = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 429, "the right password does not bypass the lock"
    assert int(r.headers["Retry-After"]) > 0


def test_expired_token_is_401_with_reason(
    client: TestClient, db: Session, make_user, bearer
) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    headers = bearer(user)
    for token in db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["detail"] == "token expired"


def test_a_remembered_token_follows_changes_made_here_at_once(
    client: TestClient, db: Session, make_user, bearer
) -> None:
    from civgrid.auth.actions import deactivate_user
    from civgrid.auth.models import ScopeKind, UserScope

    user = make_user("dispatcher", ("division", "441900101"))
    headers = bearer(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # now remembered
    user.scopes.append(UserScope(kind=ScopeKind.DIVISION, ref="441900102"))
    db.commit()
    scopes = client.get("/api/v1/me", headers=headers).json()["scopes"]
    assert ["division", "441900102"] in [[s["kind"], s["ref"]] for s in scopes]
    for token in db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.expires_at = utcnow() + timedelta(seconds=1)
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    deactivate_user(db, user, actor=None)
    r = client.get("/api/v1/me", headers=headers)
    assert (r.status_code, r.json()["detail"]) == (401, "account disabled")


def test_a_remembered_token_follows_other_processes_within_seconds(
    client: TestClient, db: Session, make_user, bearer, monkeypatch
) -> None:
    import time

    from sqlalchemy import update

    from civgrid.db import cache

    user = make_user("dispatcher", ("division", "441900101"))
    headers = bearer(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # Revoked by another process: a plain UPDATE, which this process's sessions do not see.
    db.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked_at=utcnow()))
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200, "remembered"
    later = time.monotonic() + cache.RECHECK_S + 0.1
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    r = client.get("/api/v1/me", headers=headers)
    assert (r.status_code, r.json()["detail"]) == (401, "invalid token")


def test_garbage_tokens_are_401(client: TestClient) -> None:
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    r = client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert "Bearer" in r.json()["detail"]


def test_anonymous_api_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_web_login_sets_session_and_logout_needs_csrf(client: TestClient, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    token = _csrf(client)
    r = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["username"] == user.username
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": token}).status_code == 403, "rotated at login"
    r = client.post("/logout", data={"csrf_token": _csrf(client, "/")}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_login_without_csrf_is_refused(client: TestClient, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    client.get("/login")
    r = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 403
    assert "CSRF" in r.json()["detail"]


def test_session_write_without_csrf_header_is_refused(client: TestClient, make_user) -> None:
    admin = make_user("admin", ("all", ""))
    token = _csrf(client)
    client.post(
        "/login", data={"username": admin.username, "password": PASSWORD, "csrf_token": token}
    )
    token = _csrf(client, "/")
    body = {
        "username": "newbie",
        "password": "long-enough-1",
        "role": "grid_worker",
        "scopes": [{"kind": "division", "ref": "441900101"}],
    }
    assert client.post("/api/v1/users", json=body).status_code == 403
    r = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text


def test_web_login_failure_shows_message(client: TestClient, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    token = _csrf(client)
    r = client.post(
        "/login",
        data={"username": user.username, "password": "wrong-one", "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 401
    assert "wrong username or password" in r.text or "用户名或密码错误" in r.text


def test_password_change_ends_old_tokens(
    client: TestClient, db: Session, make_user, bearer
) -> None:
    from civgrid.auth.actions import set_password

    user = make_user("dispatcher", ("division", "441900101"))
    headers = bearer(user)
    set_password(db, user, "another-password", actor=user)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_burst_with_an_unremembered_token_checks_it_once(db: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Requests arriving together with a token the process forgot (every 2 s) wait for one."""
    import threading
    import time

    from civgrid.auth import service

    checks: list[str] = []

    def slow_check(_db: Session, digest: str) -> tuple[object, object]:
        checks.append(digest)
        time.sleep(0.1)
        return ("the user", utcnow() + timedelta(hours=1))

    monkeypatch.setattr(service, "_check_token", slow_check)
    monkeypatch.setattr(service, "_in_session", lambda _db, hit: hit[0])
    got: list[object] = []
    burst = [
        threading.Thread(target=lambda: got.append(service.user_for_token(db, "same-token")))
        for _ in range(6)
    ]
    for t in burst:
        t.start()
    for t in burst:
        t.join()
    assert got == ["the user"] * 6 and len(checks) == 1


def test_passwords_are_hashed_with_argon2id_at_full_cost() -> None:
    """The suite hashes cheaply (tests/conftest.py); the product keeps argon2's strong default."""
    from argon2 import extract_parameters

    from tests.conftest import PRODUCT_HASHER

    hasher = PRODUCT_HASHER["hasher"]
    params = extract_parameters(hasher.hash(PASSWORD))
    assert params.type.name == "ID"
    assert params.time_cost >= 3 and params.memory_cost >= 65536 and params.parallelism >= 4
    assert hasher.verify(hasher.hash(PASSWORD), PASSWORD)
