"""Engine and sessions."""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
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


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """Create an engine with the pragmas civgrid relies on.

    ``read_only`` (PostgreSQL only): every transaction of its connections is read-only
    (``default_transaction_read_only``), so a write sent on it by mistake fails at once, even
    when its URL names the primary, rather than the day a replica is put behind it.
    """
    if url.startswith("sqlite"):
        if read_only:
            raise ValueError("a read-only engine is for a PostgreSQL replica, not SQLite")
        # As many connections as the thread pool has threads: a request never waits for one.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": WRITE_WAIT_S},
            pool_size=10,
            max_overflow=40,
        )

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

        _refuse_when_on_loop(engine)
        SQLiteWriter(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Sent in the connection's startup packet: no round trip.
    connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
    engine = create_engine(url, pool_size=20, max_overflow=20, connect_args=connect_args)
    _ping_when_idle(engine)
    _refuse_when_on_loop(engine)
    return engine


# How long a write waits for SQLite's one write lock before it gives up (an error, not a hang).
WRITE_WAIT_S = 30.0
_TX = "civgrid.sqlite_tx"
_CTE_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class DatabaseBusy(Exception):
    """A write waited ``WRITE_WAIT_S`` for SQLite's write lock in vain."""


@dataclass
class _Tx:
    """Where one SQLite connection's transaction stands."""

    generation: int | None = None  # the writer's generation at its first statement
    writes: bool = False  # holds the write lock
    savepoint: bool = False


class SQLiteWriter:
    """One writer at a time per SQLite database in this process; readers never wait.

    SQLite in WAL mode lets any number of readers run beside one writer. Transactions begin
    deferred (``BEGIN``): a read takes a snapshot and no lock. The first write of a
    transaction (or ``hold_write_lock``, which ``acting`` calls before it reloads its case)
    first takes this process's writer lock, waiting its turn (at most ``WRITE_WAIT_S``), and
    holds it until the transaction ends. So writers queue here, in Python, instead of failing
    in SQLite: a deferred transaction that read and then writes cannot wait for SQLite's lock
    (it fails at once with "database is locked"), and one whose snapshot is older than the
    last commit could never write. The writer lock rules out the first; for the second, a
    transaction that read before a commit it did not see starts again (``ROLLBACK`` then
    ``BEGIN IMMEDIATE``) when it takes the lock, if it has neither written nor opened a
    savepoint: its earlier reads then count as read-committed reads, as on PostgreSQL, and
    ``acting`` reloads its case under the lock. Writers in other processes (the CLI) still
    meet SQLite's own busy timeout.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._holder: Any = None  # the DBAPI connection holding the lock
        self.generation = 0  # commits of write transactions so far
        self.wait_s = WRITE_WAIT_S
        _WRITERS[engine] = self
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "before_cursor_execute", self._before_execute)
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_conn: Any) -> None:
            try:
                commit(dbapi_conn)
            finally:
                self._release(dbapi_conn, committed=True)

        def do_rollback(dbapi_conn: Any) -> None:
            try:
                rollback(dbapi_conn)
            finally:
                self._release(dbapi_conn, committed=False)

        # The pool's reset on check-in and a Connection's rollback both end here.
        dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]
        for name in ("invalidate", "soft_invalidate", "close", "close_detached"):
            event.listen(engine.pool, name, self._dropped)

    def _begin(self, conn: Connection) -> None:
        conn.info[_TX] = _Tx()
        conn.exec_driver_sql("BEGIN")

    def _before_execute(self, conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        tx: _Tx | None = conn.info.get(_TX)
        if tx is None or tx.writes:
            return
        head = statement.lstrip()[:9].upper()
        if head.startswith("BEGIN"):
            return
        if head.startswith("SAVEPOINT"):
            tx.savepoint = True
        if tx.generation is None:
            tx.generation = self.generation
            return self._take(conn, tx, has_read=False) if _is_write(head, statement) else None
        if _is_write(head, statement):
            self._take(conn, tx, has_read=True)

    def _take(self, conn: Connection, tx: _Tx, *, has_read: bool) -> None:
        """Take the writer lock for ``conn``'s transaction (see the class doc)."""
        if not self._lock.acquire(timeout=self.wait_s):
            raise DatabaseBusy(f"waited {self.wait_s:.0f} s for the database's write lock")
        dbapi_conn = conn.connection.dbapi_connection
        self._holder = dbapi_conn
        tx.writes = True
        if has_read and tx.generation != self.generation and not tx.savepoint:
            # Its snapshot predates a commit: SQLite would refuse its first write.
            dbapi_conn.execute("ROLLBACK")  # type: ignore[union-attr]
            dbapi_conn.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        tx.generation = self.generation

    def take(self, conn: Connection) -> None:
        """Take the writer lock now, for a transaction about to read what it will write."""
        tx: _Tx | None = conn.info.get(_TX)
        if tx is None or tx.writes:
            return
        has_read = tx.generation is not None
        if not has_read:
            tx.generation = self.generation
        self._take(conn, tx, has_read=has_read)

    def _release(self, dbapi_conn: Any, *, committed: bool) -> None:
        dbapi_conn = getattr(dbapi_conn, "dbapi_connection", dbapi_conn)
        if self._holder is not None and self._holder is dbapi_conn:
            if committed:
                self.generation += 1  # before the next writer may look
            self._holder = None
            self._lock.release()

    def _dropped(self, dbapi_conn: Any, *_args: Any) -> None:
        self._release(dbapi_conn, committed=False)


_WRITERS: weakref.WeakKeyDictionary[Engine, SQLiteWriter] = weakref.WeakKeyDictionary()


def _is_write(head: str, statement: str) -> bool:
    if head.startswith(_WRITES):
        return True
    return head.startswith("WITH") and _CTE_WRITE.search(statement) is not None


def hold_write_lock(db: Session) -> None:
    """Make ``db``'s transaction the database's writer now, before it reads what it changes.

    On SQLite it waits for the writer lock (``SQLiteWriter``), so what it reads next is the
    latest committed state and stays so until it commits; on PostgreSQL it does nothing (row
    locks do this there).
    """
    conn = db.connection()
    writer = _WRITERS.get(conn.engine)
    if writer is not None:
        writer.take(conn)


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


_DATABASE_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database_key(db: Session) -> str:
    """Which database ``db`` works on (its engine's URL), for in-process caches per database.

    Rendered once per engine: a URL renders (and hashes) by quoting each of its parts again,
    which the caches paid several times per request.
    """
    engine = db.get_bind().engine
    key = _DATABASE_KEYS.get(engine)
    if key is None:
        key = _DATABASE_KEYS[engine] = str(engine.url)
    return key


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().effective_database_url)


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@lru_cache
def get_read_engine() -> Engine | None:
    """The engine on the read replica (``CIVGRID_READ_DATABASE_URL``), or None without one."""
    url = get_settings().read_database_url
    return make_engine(url, read_only=True) if url else None


@lru_cache
def read_session_factory() -> sessionmaker[Session] | None:
    engine = get_read_engine()
    return None if engine is None else sessionmaker(bind=engine, expire_on_commit=False)


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
        await _close(db)


async def get_read_db(db: Session = Depends(get_db)) -> AsyncIterator[Session]:
    """FastAPI dependency: a session for reads that may lag the primary a little.

    On the read replica when one is configured (its transactions are read-only), else the
    request's own session (``db``, which costs nothing unless used). For the public board,
    Open311 GET and the figures only: what must see its own writes, or writes, uses ``get_db``
    (docs/architecture.md, "Beyond one machine").
    """
    factory = read_session_factory()
    if factory is None:
        yield db
        return
    read = factory()
    try:
        yield read
    finally:
        await _close(read)


async def _close(db: Session) -> None:
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

    A page's reads need no snapshot kept open while its response is sent on the event loop
    (and a page that writes, say an audit row, must not hold SQLite's write lock meanwhile).
    """
    try:
        yield db
    finally:
        db.rollback()


def get_read_page_db(db: Session = Depends(get_read_db)) -> Iterator[Session]:
    """``get_read_db`` for pages: its transaction ends before the response is sent."""
    try:
        yield db
    finally:
        db.rollback()
