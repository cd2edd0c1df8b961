"""Plan shapes (PostgreSQL): the open cases by light at a period's end are counted from the
clocks running then, found through the GiST range index, never by reading every clock.

60,000 cases with a handling clock each (four in five finished two days after they started),
one a minute back from now, are written with INSERT … SELECT and analysed; the statements
``snapshot_counts`` runs for a territory and a department are explained.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from civgrid.catalogue.models import Category, CategoryKind
from civgrid.db.base import utcnow
from civgrid.departments.models import Department
from civgrid.figures.periods import Period, tz
from civgrid.figures.snapshot import snapshot_counts
from civgrid.figures.units import Unit
from tests.cases.conftest import World
from tests.conftest import BACKEND, OWNER_URL
from tests.desk.test_list_plans import bulk_cases, plans

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL query plans")


@pytest.fixture(scope="module")
def clocks(engine: Engine) -> Iterator[None]:
    """The bulk cases and their clocks, committed and analysed by the database's owner,
    removed after the module's tests."""
    owner = create_engine(OWNER_URL["url"])
    with Session(owner) as s:
        dept = Department(code="T-CLK", name_zh="时钟部门", division_code="441900101")
        category = Category(
            code="CK101",
            kind=CategoryKind.SERVICE_ITEM,
            major_code="CK1",
            major_name_zh="时钟",
            name_zh="时钟事项",
        )
        s.add_all([dept, category])
        s.commit()
        bulk_cases(s, category.id, dept.code)
        s.execute(
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
        s.commit()
        ids = (category.id, dept.id)
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE cases")
        conn.exec_driver_sql("ANALYZE case_clocks")
    yield
    with owner.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM case_clocks WHERE case_id IN "
                "(SELECT id FROM cases WHERE number LIKE 'BULK-%')"
            )
        )
        conn.execute(text("DELETE FROM cases WHERE number LIKE 'BULK-%'"))
        conn.execute(text("DELETE FROM categories WHERE id = :id"), {"id": ids[0]})
        conn.execute(text("DELETE FROM departments WHERE id = :id"), {"id": ids[1]})
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE cases")
        conn.exec_driver_sql("ANALYZE case_clocks")
    owner.dispose()


@pytest.mark.parametrize(
    ("kind", "code"),
    [("township", "441900101"), ("county", "441900"), ("province", "44"), ("department", "T-CLK")],
)
def test_open_cases_by_light_read_only_the_clocks_running_then(
    clocks: None, world: World, kind: str, code: str
) -> None:
    now = utcnow()
    day = (now - timedelta(days=20)).astimezone(tz()).date()
    with plans(world.db) as found:
        counts = snapshot_counts(world.db, [Unit(kind, code)], Period("day", day, day), now=now)
    # running then: the last two days' cases closed later (2,880), the older open ones (6,000)
    assert 7000 < counts[code]["open"] < 11000
    lights = [counts[code][f"open_{c}"] for c in ("green", "yellow", "red")]
    assert all(lights) and sum(lights) == counts[code]["open"]
    assert found
    bad = [f"{s[:300]}\n{p}" for s, p in found if "Seq Scan on case_clocks" in p]
    assert bad == [], "\n\n".join(bad)
    assert any("ix_case_clocks_running" in p for _s, p in found)
