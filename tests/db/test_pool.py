"""The connection pool: a connection that died while idle is replaced, not handed out."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

from civgrid.db import session as db_session
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's pool")


def test_an_idle_connection_killed_by_the_server_is_replaced(engine: Engine) -> None:
    pooled = db_session.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with pooled.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as admin:  # the server ends it, as a restart or a firewall would
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            admin.commit()
        (record,) = [r for r in pooled.pool._pool.queue]  # type: ignore[attr-defined]
        record.info["idle_since"] = time.monotonic() - db_session.PING_IDLE_S - 1  # long idle
        with pooled.connect() as conn:
            again = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert again != first
    finally:
        pooled.dispose()


def test_a_connection_just_used_is_not_pinged(engine: Engine) -> None:
    pooled = db_session.make_engine(engine.url.render_as_string(hide_password=False))
    sent: list[str] = []
    try:
        with pooled.connect() as conn:
            conn.execute(text("SELECT 1"))
        raw = pooled.pool._pool.queue[0].dbapi_connection  # type: ignore[attr-defined]
        execute = raw.execute
        raw.execute = lambda q, *a, **k: sent.append(q) or execute(q, *a, **k)
        with pooled.connect() as conn:
            conn.execute(text("SELECT 2"))
        assert sent == []
    finally:
        pooled.dispose()
