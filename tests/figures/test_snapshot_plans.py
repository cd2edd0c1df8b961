"""Plan shapes (PostgreSQL): the open cases by light at a period's end are counted from the
clocks running then, found through the GiST range index, never by reading every clock.

The bulk cases of ``tests/desk/test_list_plans.py`` (240,000, one a minute back from now, 39 in
40 closed two days after they were reported) each get a handling clock, written with
INSERT … SELECT and analysed; the statements ``snapshot_counts`` runs for a territory and a
department are explained.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from civgrid.db.base import utcnow
from civgrid.figures.periods import Period, tz
from civgrid.figures.snapshot import snapshot_counts
from civgrid.figures.units import Unit
from tests.cases.conftest import World
from tests.conftest import BACKEND, OWNER_URL
from tests.desk.test_list_plans import history, plans  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL query plans")


@pytest.fixture(scope="module")
def clocks(history: None) -> Iterator[None]:  # noqa: F811  (the shared fixture)
    """A handling clock for each of the bulk cases (``history``), committed and analysed by
    the database's owner, removed after the module's tests."""
    owner = create_engine(OWNER_URL["url"])
    with owner.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO case_clocks (case_id, stage, amount, unit, started_at, due_at,
                    yellow_at, finished_at)
                SELECT id, 'handle', 3, 'natural_days', reported_at,
                    reported_at + interval '3 days', reported_at + interval '2.4 days',
                    closed_at
                FROM cases WHERE number LIKE 'BULK-%'
                """
            )
        )
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE case_clocks")
    yield
    with owner.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM case_clocks WHERE case_id IN "
                "(SELECT id FROM cases WHERE number LIKE 'BULK-%')"
            )
        )
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE case_clocks")
    owner.dispose()


@pytest.mark.parametrize(
    ("kind", "code"),
    [("township", "441900101"), ("county", "441900"), ("province", "44"), ("department", "T-BULK")],
)
def test_open_cases_by_light_read_only_the_clocks_running_then(
    clocks: None, world: World, kind: str, code: str
) -> None:
    now = utcnow()
    day = (now - timedelta(days=20)).astimezone(tz()).date()
    with plans(world.db) as found:
        counts = snapshot_counts(world.db, [Unit(kind, code)], Period("day", day, day), now=now)
    # running then: the two days' cases before it, closed later (about 2,800), and the older
    # open ones (about 5,300)
    assert 7000 < counts[code]["open"] < 11000
    lights = [counts[code][f"open_{c}"] for c in ("green", "yellow", "red")]
    assert all(lights) and sum(lights) == counts[code]["open"]
    assert found
    bad = [f"{s[:300]}\n{p}" for s, p in found if "Seq Scan on case_clocks" in p]
    assert bad == [], "\n\n".join(bad)
    assert any("ix_case_clocks_running" in p for _s, p in found)
