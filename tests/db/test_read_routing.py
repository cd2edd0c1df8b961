"""The read replica's settings and sessions, without a replica (tests/db/test_replica.py has one).

``CIVGRID_READ_DATABASE_URL`` unset: the replica-tolerant pages read the request's own session,
exactly as before. A read engine's transactions are read-only, so a write sent on it fails
even when its URL names the primary.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from civgrid.config import Settings
from civgrid.db.session import get_read_db, make_engine, read_session_factory
from tests.conftest import BACKEND

PG = "postgresql://app@db/civgrid"


@pytest.mark.parametrize(
    ("primary", "read", "wrong"),
    [
        (PG, "sqlite:////tmp/replica.sqlite3", "must be a PostgreSQL URL"),
        ("", PG, "SQLite has no replicas"),
        ("sqlite:////tmp/x.sqlite3", PG, "SQLite has no replicas"),
    ],
)
def test_a_read_url_must_be_a_postgresql_replica_of_a_postgresql_primary(
    primary: str, read: str, wrong: str
) -> None:
    with pytest.raises(ValidationError, match=wrong):
        Settings(database_url=primary, read_database_url=read)


def test_a_postgresql_primary_may_have_a_replica() -> None:
    settings = Settings(database_url=PG, read_database_url="postgresql://app@replica/civgrid")
    assert settings.read_database_url == "postgresql://app@replica/civgrid"


def test_without_a_read_url_the_pages_read_the_request_session(db: Session) -> None:
    async def first() -> Session:
        reading = get_read_db(db)
        return await reading.__anext__()

    assert read_session_factory() is None
    # on a thread of its own: a browser test's Playwright may run an event loop on this one
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, first()).result() is db


@pytest.mark.skipif(BACKEND != "postgresql", reason="read-only engines are for PostgreSQL")
def test_a_read_engine_reads_as_the_app_role_and_refuses_writes(
    engine: Engine, database_url: str
) -> None:
    reader = make_engine(database_url, read_only=True)  # the primary itself, as the app role
    try:
        with reader.connect() as conn:
            assert conn.scalar(text("SHOW default_transaction_read_only")) == "on"
            assert conn.scalar(text("SELECT count(*) >= 0 FROM cases")) is True  # its grants
            with pytest.raises(DBAPIError, match="cannot execute UPDATE in a read-only"):
                conn.execute(text("UPDATE cases SET description = description WHERE false"))
    finally:
        reader.dispose()


@pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite refusal")
def test_sqlite_has_no_read_engine(database_url: str) -> None:
    with pytest.raises(ValueError, match="PostgreSQL replica, not SQLite"):
        make_engine(database_url, read_only=True)
