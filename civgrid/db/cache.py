"""In-process caches of small, rarely changing tables (time limits, the calendar's local edits).

A :class:`TableCache` keeps one value loaded from its tables per database and reuses it until:

- this process writes one of its tables through a session (seen at flush, before the commit,
  and again when that transaction ends, committed or rolled back), or
- ``RECHECK_S`` seconds have passed, for a change made by another process (a second worker,
  the CLI): the same bound as the grid locator's (``civgrid.grids.service``).

A session that has written one of the tables in its open transaction always reads them from the
database, so it sees its own changes and never fills the cache with what it has not committed.
The tables are written by their domain's actions, through the ORM.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from civgrid.db.session import database_key

T = TypeVar("T")
RECHECK_S = 2.0
_CACHES: list[TableCache[Any]] = []


class TableCache(Generic[T]):
    """``load(db)`` cached per database, dropped when ``models`` change (see the module doc)."""

    def __init__(self, name: str, load: Callable[[Session], T], models: tuple[type, ...]) -> None:
        self.load = load
        self.models = models
        self._dirty_key = f"civgrid.cache.{name}.written"
        self._values: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()  # guards _values
        self._loading = threading.Lock()  # held by the one thread (re)loading
        _CACHES.append(self)

    def get(self, db: Session) -> T:
        """The cached value, or a fresh one when stale or when ``db`` has written the tables.

        Stale by age only (another process may have written): one thread reloads it, and the
        others go on meanwhile with the value they had, rather than all reloading at once.
        """
        if db.info.get(self._dirty_key):
            return self.load(db)
        key = database_key(db)
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < RECHECK_S:
            return hit[1]
        if hit is not None and not self._loading.acquire(blocking=False):
            return hit[1]
        if hit is None:
            self._loading.acquire()
        try:
            again = self._values.get(key)
            if again is not None and again is not hit:  # loaded by another thread meanwhile
                return again[1]
            value = self.load(db)
            if not db.info.get(self._dirty_key):  # not if the load flushed a write of ours
                with self._lock:
                    self._values[key] = (now, value)
            return value
        finally:
            self._loading.release()

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


@event.listens_for(Session, "after_flush")
def _tables_flushed(session: Session, _context: Any) -> None:
    """Rows of a cached table written in this process: drop that cache (also before commit)."""
    changed = (*session.new, *session.dirty, *session.deleted)
    if not changed:
        return
    for cache in _CACHES:
        if any(isinstance(obj, cache.models) for obj in changed):
            session.info[cache._dirty_key] = True
            cache.clear()


@event.listens_for(Session, "after_transaction_end")
def _tables_settled(session: Session, transaction: SessionTransaction) -> None:
    """Committed or rolled back: the caches must not keep what a rollback undid."""
    for cache in _CACHES:
        if session.info.get(cache._dirty_key):
            cache.clear()
            if transaction.parent is None:
                del session.info[cache._dirty_key]


# Other in-process memories of rows (with a ``clear()``) that ``clear_all`` drops too.
_OTHERS: list[Any] = []


def clear_with_caches(memory: Any) -> None:
    """Register ``memory`` (anything with ``clear()``) to be dropped by :func:`clear_all`."""
    _OTHERS.append(memory)


def clear_all() -> None:
    """Drop every cache: for a rollback that sessions do not see (the test harness's outer one)."""
    for cache in [*_CACHES, *_OTHERS]:
        cache.clear()
