"""The table caches: one thread reloads a stale value while the others go on with it."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from civgrid.db import cache


def _cache(loads: list[int], gate: threading.Event | None = None) -> cache.TableCache[int]:
    def load(_db: Session) -> int:
        loads.append(1)
        if gate is not None:
            gate.wait(5)
        return len(loads)

    return cache.TableCache(f"test-{id(loads)}", load, ())


def test_a_stale_value_is_reloaded_by_one_thread_while_others_use_it(
    db: Session, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    loads: list[int] = []
    gate = threading.Event()
    gate.set()
    values = _cache(loads, gate)
    assert values.get(db) == 1
    later = time.monotonic() + cache.RECHECK_S + 0.1
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    gate.clear()
    got: list[int] = []
    reloading = threading.Thread(target=lambda: got.append(values.get(db)))
    reloading.start()
    while len(loads) < 2:  # the reload has started and waits at the gate
        time.sleep(0.01)
    assert values.get(db) == 1  # the old value, at once: no second reload
    gate.set()
    reloading.join()
    assert got == [2] and values.get(db) == 2 and len(loads) == 2


def test_an_empty_cache_is_loaded_once_by_a_burst(db: Session) -> None:
    loads: list[int] = []
    gate = threading.Event()
    values = _cache(loads, gate)
    got: list[int] = []
    burst = [threading.Thread(target=lambda: got.append(values.get(db))) for _ in range(6)]
    for t in burst:
        t.start()
    while not loads:
        time.sleep(0.01)
    gate.set()
    for t in burst:
        t.join()
    assert got == [1] * 6 and loads == [1]


def test_a_cleared_cache_is_loaded_again_at_once(db: Session) -> None:
    """A write of this process clears it: nothing stale is served then."""
    loads: list[int] = []
    values = _cache(loads)
    assert values.get(db) == 1
    values.clear()
    assert values.get(db) == 2
