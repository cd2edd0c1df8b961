"""Rollups equal the raw recomputation, for random histories driven through the real actions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from civgrid.cases.models import Case
from civgrid.db.base import acting_at
from civgrid.errors import CivgridError
from civgrid.figures import actions as figures
from civgrid.figures.models import FigureBuild, FigureCount, FigureMonthCount
from civgrid.figures.periods import Period
from civgrid.figures.service import compute
from civgrid.inspections import actions as inspections
from civgrid.inspections.actions import ItemAnswer
from civgrid.inspections.models import ItemResult
from civgrid.ledger.models import LedgerKind
from tests.cases.test_property import NAMES, _moves
from tests.figures.conftest import World, local
from tests.inspections.conftest import Site, site  # noqa: F401  (the fixture, reused)

START = local("2026-11-02 08:00")
PERIODS = [
    "2026-11",
    "2026-12",
    "2026-W45",
    "2026-W46",
    "2026-11-03",
    "2026-11-02..2026-11-20",
    "2026-11-15..2026-12-31",  # a partial month and a whole one
    "2026-10-20..2027-01-10",  # edges around whole months
    "2026-Q4",
]


def _units(w: World) -> list[tuple[str, str]]:
    return [
        ("village", w.village),
        ("township", "441900101"),
        ("county", "441900"),
        ("province", "44"),
        ("grid", w.grid_code),
        ("department", w.dept.code),
        ("department", w.dept2.code),
        ("worker", w.worker.username),
    ]


def _inspect(s: Site, pattern: int, now: Any) -> None:
    """An inspection of the site's unit; ``pattern``'s bits say which items fail."""
    results = [ItemResult.FAIL if pattern >> i & 1 else ItemResult.PASS for i in range(3)]
    inspections.submit_inspection(
        s.world.db,
        template=s.template,
        kind=LedgerKind.UNITS,
        target_id=s.unit.id,
        answers=[ItemAnswer(i.id, r) for i, r in zip(s.template.items, results, strict=True)],
        actor=s.world.worker if pattern % 2 else s.world.admin,
        client_key=uuid.uuid4().hex,
        inspected_at=now,
    )


def _play(s: Site, script: list[tuple[int, str, float]], start: Any) -> Any:
    """Run the moves at increasing times; moves the table refuses are skipped."""
    w = s.world
    db, moves, cases = w.db, _moves(w), []
    now = start
    for case_index, name, hours in script:
        now += timedelta(hours=hours)
        with acting_at(now):
            try:
                if name == "inspect":
                    _inspect(s, case_index, now)
                elif name == "report" or not cases:
                    case = w.report()
                    w.steps.setdefault("photo", {})[case.id] = w.photo(case, w.worker)
                    cases.append(case)
                else:
                    moves[name](db, cases[case_index % len(cases)])
            except CivgridError:
                db.rollback()
    return now


def _assert_rollups_equal_raw(w: World, now: Any) -> None:
    for kind, code in _units(w):
        for text in PERIODS:
            period = Period.parse(text)
            rolled = compute(
                w.db, unit_kind=kind, unit_code=code, period=period, source="auto", now=now
            )
            raw = compute(
                w.db, unit_kind=kind, unit_code=code, period=period, source="raw", now=now
            )
            assert rolled == raw, (kind, code, text)


def _counts(w: World) -> list[tuple[Any, ...]]:
    table = FigureCount.__table__
    return [tuple(r) for r in w.db.execute(select(table).order_by(*table.primary_key.columns))]


def _counts_by_python(w: World, now: Any) -> list[tuple[Any, ...]]:
    """The rows of the rebuild by ``case_facts`` alone (the SQL rebuild must write them)."""
    figures.rebuild(w.db, now=now, engine="python")
    return _counts(w)


STEPS = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from(["report", "inspect", *NAMES]),
        st.floats(0.2, 40.0, allow_nan=False),
    ),
    min_size=5,
    max_size=40,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=STEPS, second=STEPS)
def test_rollups_built_then_refreshed_equal_raw_events(
    site: Site,  # noqa: F811
    first: list[tuple[int, str, float]],
    second: list[tuple[int, str, float]],
) -> None:
    world = site.world
    db = world.db
    db.execute(delete(FigureCount))
    db.execute(delete(FigureMonthCount))
    db.execute(delete(FigureBuild))
    db.commit()
    world.steps.clear()
    middle = _play(site, first, START + timedelta(days=30 * len(world.steps)))
    figures.rebuild(db, now=middle)
    assert _counts(world) == _counts_by_python(world, middle)
    end = _play(site, second, middle)
    figures.refresh(db, now=end + timedelta(days=1))
    assert figures.rollup_size(db) > 0
    assert db.query(FigureMonthCount).count() > 0
    _assert_rollups_equal_raw(world, end + timedelta(days=1))
    db.query(Case).count()  # the session is still usable
