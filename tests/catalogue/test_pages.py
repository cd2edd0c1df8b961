"""The matter list page: staff read it, deployment-wide admins publish and unpublish."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.catalogue.service import get_category
from tests.conftest import PASSWORD

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _login(client: TestClient, user) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    token = CSRF_META.search(client.get("/login").text)
    assert token is not None
    client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    token = CSRF_META.search(client.get("/").text)
    assert token is not None
    return token.group(1)


def test_page_search_and_publish(client: TestClient, db: Session, catalogue, make_user) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/catalogue", headers={"Accept": "application/json"}).status_code == 401
    dispatcher = make_user("dispatcher", ("division", "441900101"))
    csrf = _login(client, dispatcher)
    page = client.get("/catalogue", params={"q": "欠薪"})
    assert page.status_code == 200
    assert "G13001" in page.text
    assert "Unpaid wages" in page.text
    assert 'action="/catalogue/G13001/published"' not in page.text
    denied = client.post(
        "/catalogue/G13001/published",
        data={"published": "0", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert denied.status_code == 403

    admin = make_user("admin", ("all", ""))
    csrf = _login(client, admin)
    page = client.get("/catalogue", params={"q": "欠薪"})
    assert 'action="/catalogue/G13001/published"' in page.text
    no_token = client.post(
        "/catalogue/G13001/published",
        data={"published": "0"},
        headers={"Accept": "application/json"},
    )
    assert no_token.status_code == 403
    db.expire_all()
    assert get_category(db, "G13001").is_published is True
    r = client.post(
        "/catalogue/G13001/published",
        data={"published": "0", "csrf_token": csrf, "back": "/catalogue?q=%E6%AC%A0%E8%96%AA"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/catalogue?q=")
    db.expire_all()
    assert get_category(db, "G13001").is_published is False
