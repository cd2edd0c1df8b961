"""The served app under a mixed load: reports from every channel, dispatches and page reads.

Eight threads, for a bounded time, against a real server on its own committed demo database
(on SQLite: the embedded default, WAL, readers beside one writer). Every request must succeed
in time, and every case a client was told about must be there afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from bench._mixed_load import MixedLoad, target
from civgrid.cases.models import Case
from civgrid.config import get_settings
from tests.conftest import DemoSite, _drop_pg_database, demo_database, serve

SECONDS = 12.0
THREADS = 8
TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def site(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """A served demo of its own: this test commits hundreds of cases."""
    from civgrid.db.session import make_engine

    name, url = demo_database(tmp_path_factory)
    eng = make_engine(url)
    factory = sessionmaker(bind=eng, expire_on_commit=False)
    with serve(factory) as base:
        yield DemoSite(base, factory)
    eng.dispose()
    if name:
        _drop_pg_database(name)


def test_eight_threads_of_mixed_load_all_succeed(
    site: DemoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every portal report comes from 127.0.0.1: lift the per-address limit for this test
    monkeypatch.setattr(get_settings(), "portal_max_per_ip_hour", 1_000_000)
    with site.sessions() as db:
        t = target(site.base, db)
    done = MixedLoad(t, timeout_s=TIMEOUT_S).run(SECONDS, THREADS)
    assert done.errors == []
    assert done.requests > THREADS  # each thread did something
    with site.sessions() as db:
        stored = set(db.scalars(select(Case.number).where(Case.number.in_(done.numbers))))
    assert stored == set(done.numbers)
    assert len(done.numbers) == len(stored)  # no number given twice
