"""Desk fixtures: the case world of tests/cases, logged-in page clients, an SQL counter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from civgrid.db.cache import clear_all
from tests.cases.conftest import World, png_bytes, world  # noqa: F401  (shared fixtures)
from tests.conftest import PASSWORD

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def login(client: TestClient, user: Any) -> str:
    """Log ``user`` in through the login form; the CSRF token of the session."""
    page = client.get("/login")
    token = CSRF_META.search(page.text)
    assert token is not None
    client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    # Logging in starts a new session, with a new CSRF token: read it from the landing page.
    token = CSRF_META.search(client.get("/").text)
    assert token is not None
    return token.group(1)


@pytest.fixture
def as_user(client: TestClient) -> Callable[[Any], str]:
    """as_user(user): log the test client in as ``user`` (after logging out); the CSRF token."""

    def switch(user: Any) -> str:
        client.cookies.clear()
        return login(client, user)

    return switch


@contextmanager
def count_statements(db: Session) -> Iterator[list[str]]:
    """Every SQL statement run on ``db``'s connection inside the block, caches cold.

    The in-process caches of small tables (``civgrid.db.cache``) are dropped first, so that the
    count does not depend on how long ago they were filled.
    """
    clear_all()
    statements: list[str] = []
    conn = db.connection()

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(conn, "before_cursor_execute", record)
