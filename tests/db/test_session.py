"""Sessions and the event loop: work tried on the loop, and closing without a thread hop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.db.session import _CONNECTED, on_loop_if_cached

T = TypeVar("T")


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` in a thread of its own (this one may have a loop running)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def test_work_that_needs_no_database_runs_on_the_loop(engine: Engine) -> None:
    def where() -> int:
        return threading.get_ident()

    async def main() -> tuple[int, int]:
        return threading.get_ident(), await on_loop_if_cached(where)

    loop_thread, ran_in = _run(main)
    assert ran_in == loop_thread


def test_work_that_needs_the_database_runs_again_in_the_thread_pool(engine: Engine) -> None:
    tries: list[int] = []

    def read(db: Session) -> int:
        tries.append(threading.get_ident())
        return int(db.execute(text("SELECT 41 + 1")).scalar_one())

    async def main() -> tuple[int, int]:
        with Session(engine) as db:
            answer = await on_loop_if_cached(read, db)
            # the refused statement left the session usable
            assert db.execute(text("SELECT 1")).scalar_one() == 1
            return threading.get_ident(), answer

    loop_thread, answer = _run(main)
    assert answer == 42
    assert tries[0] == loop_thread and len(tries) == 2 and tries[1] != loop_thread


def test_a_session_knows_when_it_holds_a_connection(engine: Engine) -> None:
    """``get_db`` closes on the event loop a session that never reached the database."""
    with Session(engine) as db:
        someone = User(username="nobody-yet")
        db.add(someone)  # begins a transaction, with no connection
        assert db.in_transaction() and not db.info.get(_CONNECTED)
        db.expunge(someone)
        db.execute(text("SELECT 1"))
        assert db.info.get(_CONNECTED)


@pytest.mark.parametrize("done", ["commit", "rollback", "close"])
def test_the_mark_goes_with_the_transaction(engine: Engine, done: str) -> None:
    db = Session(engine)
    db.execute(text("SELECT 1"))
    assert db.info.get(_CONNECTED)
    getattr(db, done)()
    assert not db.info.get(_CONNECTED)
    db.close()
