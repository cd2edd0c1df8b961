"""Readers beside a writer, and writers that queue: what the embedded default must do.

On SQLite (WAL) transactions begin deferred and take this process's writer lock at their
first write (``civgrid.db.session.SQLiteWriter``); PostgreSQL does the same with its own
locks. Each test runs on a committed database of its own with one small table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from civgrid.db.session import hold_write_lock, make_engine
from tests.conftest import BACKEND, _create_pg_database, _drop_pg_database

WAIT_S = 20  # a bound for a thread that must finish: far above what it needs


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if BACKEND == "postgresql":
        name, url = _create_pg_database()
    else:
        name, url = "", f"sqlite:///{tmp_path / 'writers.sqlite3'}"
    eng: Engine = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO notes (id, body) VALUES (1, 'first')"))
    yield sessionmaker(bind=eng, expire_on_commit=False)
    eng.dispose()
    if name:
        _drop_pg_database(name)


def _count(db: Session) -> int:
    return int(db.execute(text("SELECT count(*) FROM notes")).scalar_one())


def _in_thread(fn: object) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001  (reported by the test)
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_read_does_not_wait_for_an_open_write(sessions: sessionmaker[Session]) -> None:
    with sessions() as writer, sessions() as reader:
        writer.execute(text("INSERT INTO notes (id, body) VALUES (2, 'pending')"))
        thread, out = _in_thread(lambda: _count(reader))
        thread.join(WAIT_S)
        assert out == [1]  # done while the write is open, without seeing it
        writer.commit()


def test_a_second_writer_waits_its_turn_then_succeeds(sessions: sessionmaker[Session]) -> None:
    with sessions() as first, sessions() as second:
        first.execute(text("INSERT INTO notes (id, body) VALUES (2, 'first writer')"))

        def write() -> str:
            second.execute(text("INSERT INTO notes (id, body) VALUES (3, 'second writer')"))
            second.commit()
            return "committed"

        thread, out = _in_thread(write)
        thread.join(0.5)
        first.commit()
        thread.join(WAIT_S)
        assert out == ["committed"]
    with sessions() as db:
        assert _count(db) == 3


def test_a_transaction_that_read_before_another_commit_can_still_write(
    sessions: sessionmaker[Session],
) -> None:
    """SQLite refuses the first write of a transaction whose snapshot predates a commit
    ("database is locked", at once): such a transaction starts again when it takes the lock."""
    with sessions() as late, sessions() as other:
        assert _count(late) == 1  # its snapshot
        other.execute(text("INSERT INTO notes (id, body) VALUES (2, 'other')"))
        other.commit()
        late.execute(text("INSERT INTO notes (id, body) VALUES (3, 'late')"))
        late.commit()
        assert _count(late) == 3


def test_hold_write_lock_reads_the_latest_state_and_keeps_it(
    sessions: sessionmaker[Session],
) -> None:
    """What ``acting`` relies on: after ``hold_write_lock`` no one else commits a write until
    this transaction ends, so what it read is still true when it writes."""
    with sessions() as holder, sessions() as other:
        assert _count(holder) == 1
        other.execute(text("INSERT INTO notes (id, body) VALUES (2, 'other')"))
        other.commit()
        hold_write_lock(holder)  # on PostgreSQL nothing: its row locks do this there
        assert _count(holder) == 2

        def write() -> int:
            other.execute(text("INSERT INTO notes (id, body) VALUES (3, 'queued')"))
            other.commit()
            return _count(other)

        thread, out = _in_thread(write)
        thread.join(0.5)
        holder.execute(text("UPDATE notes SET body = 'held' WHERE id = 1"))
        holder.commit()
        thread.join(WAIT_S)
        assert out == [3]
