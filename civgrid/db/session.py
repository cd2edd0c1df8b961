"""Engine and sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import lru_cache

from fastapi import Depends
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from civgrid.config import get_settings


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas civgrid relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
            # savepoints and rollbacks behave as on PostgreSQL.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: two writers queue instead of one failing
            # half-way with "database is locked".
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().effective_database_url)


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


async def get_db() -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request.

    Asynchronous, so that it costs no thread-pool hop: opening a session does no I/O, and
    closing one does none either unless a transaction is still open (a request that only read,
    or failed), whose rollback then goes to the thread pool, off the event loop.
    """
    db = session_factory()()
    try:
        yield db
    finally:
        if db.in_transaction():
            await run_in_threadpool(db.close)
        else:
            db.close()


def get_page_db(db: Session = Depends(get_db)) -> Iterator[Session]:
    """The request's session, whose transaction ends before the response is sent (pages).

    On SQLite every transaction holds the write lock (BEGIN IMMEDIATE) and the response is sent
    on the event loop: a page that kept its transaction open until then could stall the server
    while a browser loads thumbnails in parallel.
    """
    try:
        yield db
    finally:
        db.rollback()
