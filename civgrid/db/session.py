"""Engine and sessions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ParamSpec, TypeVar

from fastapi import Depends
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from starlette.concurrency import run_in_threadpool

from civgrid.config import get_settings

P = ParamSpec("P")
T = TypeVar("T")


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

        _refuse_when_on_loop(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_size=20, max_overflow=20)
    _ping_when_idle(engine)
    _refuse_when_on_loop(engine)
    return engine


class WouldBlock(Exception):
    """Work tried on the event loop (``on_loop_if_cached``) needed the database."""


_ON_LOOP: ContextVar[bool] = ContextVar("civgrid_on_loop", default=False)


def _refuse_when_on_loop(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _check(*_args: Any) -> None:
        if _ON_LOOP.get():
            raise WouldBlock("a database statement inside on_loop_if_cached")


async def on_loop_if_cached(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(...)`` run at once on the event loop if it needs no database, else in the thread pool.

    For request work that reads only what in-process caches hold, but must go to the database
    (a blocking call) when one is stale: the first statement it tries raises ``WouldBlock``
    before anything is sent, and the whole call starts again in the thread pool. ``fn`` must
    write nothing before its reads (it may run twice). The check is an engine event: what
    bypasses the engine (the pool's test of an idle connection, raw driver calls) is not seen.
    """
    token = _ON_LOOP.set(True)
    try:
        return fn(*args, **kwargs)
    except WouldBlock:
        pass
    finally:
        _ON_LOOP.reset(token)
    return await run_in_threadpool(fn, *args, **kwargs)


# A pooled connection unused for this long is tested before it is handed out.
PING_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle in the pool.

    ``pool_pre_ping`` would test every checkout: a round trip per request. A connection that
    was in use a moment ago is as good as the ping would say; one idle for ``PING_IDLE_S`` may
    have been closed by a database restart or a firewall, and is tested (and replaced if dead:
    the pool retries on ``DisconnectionError``). A restart under load still fails the requests
    in flight, once; SQLAlchemy then renews the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            dbapi_conn.execute("SELECT 1")
            dbapi_conn.rollback()  # hand it out with no transaction open, as it came in
        except Exception as exc:  # noqa: BLE001  (any failure: a dead connection)
            raise DisconnectionError(str(exc)) from exc


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
    closing one does none either unless a transaction still holds a connection (a request that
    only read, or failed), whose rollback then goes to the thread pool, off the event loop.
    """
    db = session_factory()()
    try:
        yield db
    finally:
        if db.info.get(_CONNECTED):
            await run_in_threadpool(db.close)
        else:
            db.close()


# In a session's info while its transaction holds a connection (a transaction may exist without
# one: the session begins one as soon as it is used, say by ``merge``, with no I/O).
_CONNECTED = "civgrid.connected"


@event.listens_for(Session, "after_begin")
def _connected(session: Session, _transaction: SessionTransaction, _conn: Connection) -> None:
    session.info[_CONNECTED] = True


@event.listens_for(Session, "after_transaction_end")
def _released(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTED, None)


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
