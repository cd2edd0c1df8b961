"""Plan shapes at a realistic size (PostgreSQL): no list reads the cases table from end to end.

240,000 cases (39 in 40 closed: the history; 1.7 % are open in the 10 M benchmark) are written
with one INSERT … SELECT, the table analysed, and every statement the desk's lists, the API's and
the board's pages, Open311's requests and the map run is explained: none may hold a sequential
scan on ``cases``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session

from civgrid.board.schemas import BoardQuery
from civgrid.board.service import board_page
from civgrid.cases.service import CaseFilter, cases_page
from civgrid.catalogue.models import Category, CategoryKind
from civgrid.db.base import utcnow
from civgrid.departments.models import Department
from civgrid.desk import freshness, service
from civgrid.open311.schemas import RequestQuery
from civgrid.open311.service import find_requests
from tests.conftest import BACKEND, OWNER_URL
from tests.desk.conftest import World

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL query plans")

ROWS = 240_000
OPEN = ["reported", "registered", "dispatched", "accepted", "handling", "handled", "verified"]


def bulk_cases(db: Session, category_id: int, department: str, n: int = ROWS) -> None:
    """``n`` cases in grid 44190010100201, one a minute back from now: 39 in 40 closed, the
    rest spread over the open states (1 in 20 suspended; 1 in 250 of all an emergency)."""
    states = "ARRAY[" + ", ".join(f"'{s}'" for s in OPEN) + "]"
    db.execute(
        text(
            f"""
            INSERT INTO cases (number, version, state, source, level, priority, category_id,
                lon, lat, address, division_code, grid_code, territory_code, department_code,
                description, outcome_note, extension_reason, stage, stage_started_at, due_at,
                due_unit, yellow_at, reported_at, updated_at, closed_at)
            SELECT 'BULK-' || i, 1,
                CASE WHEN i % 40 <> 0 THEN 'closed'
                     WHEN i % 800 = 40 THEN 'suspended'
                     ELSE ({states})[1 + (i / 40) % 7] END,
                'patrol', 'grid', CASE WHEN i % 250 = 0 THEN 'emergency' ELSE 'normal' END,
                :category, 113.8 + (i % 100) * 1e-4, 23.09 + (i / 100 % 100) * 1e-4, '',
                :village, :grid, :grid, :dept, 'bulk', '', '',
                CASE WHEN i % 40 = 0 AND i % 800 <> 40 THEN 'handle' END,
                CASE WHEN i % 40 = 0 AND i % 800 <> 40 THEN at END,
                CASE WHEN i % 40 = 0 AND i % 800 <> 40 THEN at + interval '3 days' END,
                CASE WHEN i % 40 = 0 AND i % 800 <> 40 THEN 'natural_days' END,
                CASE WHEN i % 40 = 0 AND i % 800 <> 40 THEN at + interval '2.4 days' END,
                at, at, CASE WHEN i % 40 <> 0 THEN at + interval '2 days' END
            FROM (SELECT i, now() - i * interval '1 minute' AS at
                  FROM generate_series(1, :n) AS i) AS s
            """  # noqa: S608  (the states are the constants above)
        ),
        {
            "n": n,
            "category": category_id,
            "village": "441900101002",
            "grid": "44190010100201",
            "dept": department,
        },
    )


@pytest.fixture(scope="module")
def history(engine: Engine) -> Iterator[None]:
    """The bulk cases, committed, vacuumed and analysed (as autovacuum would) by the database's
    owner (the app's role may not), removed again after the module's tests."""
    owner = create_engine(OWNER_URL["url"])
    with Session(owner) as s:
        dept = Department(code="T-BULK", name_zh="批量部门", division_code="441900101")
        category = Category(
            code="BK101",
            kind=CategoryKind.SERVICE_ITEM,
            major_code="BK1",
            major_name_zh="批量",
            name_zh="批量事项",
        )
        s.add_all([dept, category])
        s.commit()
        bulk_cases(s, category.id, dept.code)
        s.commit()
        ids = (category.id, dept.id)
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases")
    yield
    with owner.begin() as conn:
        conn.execute(text("DELETE FROM cases WHERE number LIKE 'BULK-%'"))
        conn.execute(text("DELETE FROM categories WHERE id = :id"), {"id": ids[0]})
        conn.execute(text("DELETE FROM departments WHERE id = :id"), {"id": ids[1]})
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases")
    owner.dispose()


@contextmanager
def plans(db: Session) -> Iterator[list[tuple[str, str]]]:
    """(statement, plan) of every statement run in the block (explained after it)."""
    seen: list[tuple[str, Any]] = []
    conn = db.connection()

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", record)
    found: list[tuple[str, str]] = []
    try:
        yield found
    finally:
        event.remove(conn, "before_cursor_execute", record)
    for statement, params in seen:
        rows = conn.exec_driver_sql("EXPLAIN " + statement, params).scalars()
        found.append((statement, "\n".join(rows)))


def seq_scans(found: list[tuple[str, str]]) -> list[str]:
    return [f"{s[:300]}\n{p}" for s, p in found if "Seq Scan on cases" in p]


@pytest.fixture
def big(history: None, world: World) -> World:
    return world


@pytest.mark.parametrize("name", sorted(service.LISTS))
def test_desk_lists_read_no_history(big: World, name: str) -> None:
    d = service.LISTS[name]
    users = [big.dispatcher, big.admin, big.worker, big.handler]
    user = next(u for u in users if u.role in d.roles)
    with plans(big.db) as found:
        first = service.desk_list(big.db, user, name, size=service.PREVIEW)
        if first.next:
            service.desk_list(big.db, user, name, size=service.PAGE, cursor=first.next)
    assert found
    assert seq_scans(found) == []


def test_busy_lists_are_long_but_their_first_page_is_read_from_an_index(big: World) -> None:
    view = service.desk_list(big.db, big.dispatcher, "in_progress")
    assert len(view.rows) == service.PREVIEW and view.more_than_total and view.next
    with plans(big.db) as found:
        service.desk_list(big.db, big.dispatcher, "in_progress")
    assert any("ix_cases_open" in p for _s, p in found)


def test_api_board_open311_and_map_read_no_history(big: World) -> None:
    now = utcnow()
    with plans(big.db) as found:
        page = cases_page(big.db, big.dispatcher, CaseFilter(), limit=100)
        cases_page(big.db, big.dispatcher, CaseFilter(), limit=100, cursor=page.next)
        cases_page(big.db, big.admin, CaseFilter(open_only=True), limit=100)
        board = board_page(big.db, BoardQuery())
        assert board.more_than_total
        q = BoardQuery(page=50)
        deep = board_page(big.db, q)
        assert deep.next_url and "cursor=" in deep.next_url
        for n in (1, 2, 3):
            query = RequestQuery.parse(page=str(n), page_size="100", now=now)
            assert len(find_requests(big.db, query)) == 100
        service.cases_geojson(big.db, big.dispatcher)
    bad = seq_scans(found)
    assert bad == [], "\n\n".join(b[-1500:] for b in bad)


@pytest.mark.parametrize("who", ["dispatcher", "admin"])
def test_the_refresh_tag_takes_one_index_step_per_part(big: World, who: str) -> None:
    """The newest change is the first entry of an index read backwards; the next light
    changes are read from deadline indexes from ``now`` on: nothing reads all the open cases
    in scope (no aggregate over ``ix_cases_open_territory_summary``)."""
    with plans(big.db) as found:
        freshness.refresh_tag(big.db, getattr(big, who), "zh_CN", utcnow())
    [(_statement, plan)] = found
    assert "Index Only Scan Backward using ix_cases_updated_territory on cases" in plan, plan
    assert "ix_cases_open_due on cases" in plan and "(due_at > '" in plan, plan
    assert "ix_cases_open_yellow on cases" in plan and "(yellow_at > '" in plan, plan
    assert "summary" not in plan and "Seq Scan on cases" not in plan, plan


def test_the_map_groups_in_one_aggregate_read_from_an_index_alone(big: World) -> None:
    box = service.BBox(113.79, 23.08, 113.82, 23.11)
    with plans(big.db) as found:
        grouped = service.cases_geojson(big.db, big.dispatcher, box)
    assert grouped["total"] == ROWS // 40 and len(grouped["features"]) <= 24 * 24
    [(_statement, plan)] = found
    assert "Index Only Scan using ix_cases_open_territory_summary on cases" in plan, plan
    assert "Seq Scan on cases" not in plan, plan
