"""Indicator formulas against a small history computed by hand (docs/figures.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civgrid.cases import actions
from civgrid.cases.models import Case
from civgrid.db.base import acting_at
from civgrid.figures.periods import Period
from civgrid.figures.service import compute
from civgrid.figures.units import BadRequest
from tests.figures.conftest import World, local

NOW = local("2026-12-01 09:00")


def step(world: World, when: str, *names: str, case=None, **kw):  # type: ignore[no-untyped-def]
    with acting_at(local(when)):
        if names == ("report",):
            return world.report(**kw)
        return world.drive(case, *names)


def build_history(world: World) -> None:
    """Five cases in November 2026 (the hand computation is in each comment)."""
    db = world.db
    # A: everything on time; closed after 9 working hours; rated 5.
    a = step(world, "2026-11-02 09:00", "report")
    step(world, "2026-11-02 09:30", "register", case=a)
    step(world, "2026-11-02 10:00", "dispatch", case=a)
    step(world, "2026-11-02 10:10", "accept", "start", case=a)
    step(world, "2026-11-02 11:00", "handle", case=a)
    step(world, "2026-11-03 09:00", "verify", case=a)
    step(world, "2026-11-03 10:00", "close", case=a)
    with acting_at(local("2026-11-03 11:00")):
        actions.evaluate_case(db, a, actor=world.dispatcher, rating=5)
    # B: registered and dispatched late, reworked once, closed after 18 hours; rated 2.
    b = step(world, "2026-11-02 09:00", "report")
    step(world, "2026-11-02 11:00", "register", case=b)
    step(world, "2026-11-02 14:30", "dispatch", case=b)
    step(world, "2026-11-02 15:00", "accept", case=b)
    step(world, "2026-11-03 09:00", "handle", case=b)
    with acting_at(local("2026-11-03 10:00")):
        actions.verify_case(db, b, actor=world.worker, passed=False, note="not clean")
    step(world, "2026-11-04 09:00", "handle", case=b)
    step(world, "2026-11-04 10:00", "verify", case=b)
    step(world, "2026-11-04 11:00", "close", case=b)
    with acting_at(local("2026-11-04 12:00")):
        actions.evaluate_case(db, b, actor=world.dispatcher, rating=2)
    # C: rejected (not a valid report).
    c = step(world, "2026-11-02 09:00", "report")
    with acting_at(local("2026-11-02 09:20")):
        actions.reject_case(db, c, actor=world.dispatcher, reason="not ours")
    # D: registered on time, then voided.
    d = step(world, "2026-11-02 09:00", "report")
    step(world, "2026-11-02 09:10", "register", case=d)
    with acting_at(local("2026-11-02 09:40")):
        actions.void_case(db, d, actor=world.dispatcher, reason="duplicate call")
    # E: dispatched on time, never handled: overdue from 2026-11-12 09:40.
    e = step(world, "2026-11-05 09:00", "report")
    step(world, "2026-11-05 09:30", "register", case=e)
    step(world, "2026-11-05 09:40", "dispatch", case=e)


EXPECTED = {
    "reports": (5, None, 5.0),
    "valid_reports": (4, None, 4.0),
    "valid_report_rate": (4, 5, 0.8),
    "registered": (4, None, 4.0),
    "on_time_registration_rate": (3, 4, 0.75),
    "accurate_registration_rate": (3, 4, 0.75),
    "dispatched": (3, None, 3.0),
    "on_time_dispatch_rate": (2, 3, 2 / 3),
    "accurate_dispatch_rate": (2, 3, 2 / 3),
    "should_handle": (4, None, 4.0),
    "on_time_handling_rate": (3, 4, 0.75),
    "rework_rate": (1, 4, 0.25),
    "should_verify": (3, None, 3.0),
    "on_time_verification_rate": (3, 3, 1.0),
    "should_close": (3, None, 3.0),
    "closed": (2, None, 2.0),
    "closure_rate": (2, 3, 2 / 3),
    "on_time_closure_rate": (1, 3, 1 / 3),
    "overdue": (3, None, 3.0),
    "open_red_share": (1, 1, 1.0),
    "open_yellow_share": (0, 1, 0.0),
    "open_green_share": (0, 1, 0.0),
    "ratings": (2, None, 2.0),
    "satisfaction_rate": (1, 2, 0.5),
    "close_hours_median": (2, None, 9.0),
    "close_hours_p90": (2, None, 18.0),
    "grassroots_rate": (2, 2, 1.0),
    "summoned": (0, None, 0.0),
    "summons_on_time_rate": (0, 0, None),
    # no inspections in this history (tests/figures/test_inspections.py has them)
    "inspections": (0, None, 0.0),
    "failed_inspections": (0, None, 0.0),
    "inspection_failure_rate": (0, 0, None),
    "inspection_cases": (0, None, 0.0),
}


@pytest.mark.parametrize("source", ["raw", "auto"])
def test_village_november_matches_the_hand_computation(world: World, source: str) -> None:
    build_history(world)
    got = compute(
        world.db,
        unit_kind="village",
        unit_code=world.village,
        period=Period.parse("2026-11"),
        source=source,
        now=NOW,
    )
    rounded = {k: (v.numerator, v.denominator, _round(v.value)) for k, v in got.items()}
    assert rounded == {k: (n, d, _round(v)) for k, (n, d, v) in EXPECTED.items()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def test_department_and_worker_see_their_own_parts(world: World) -> None:
    build_history(world)
    period = Period.parse("2026-11")
    dept = compute(
        world.db,
        unit_kind="department",
        unit_code=world.dept.code,
        period=period,
        codes=["dispatched", "on_time_handling_rate", "reports"],
        now=NOW,
    )
    assert (dept["dispatched"].value, dept["on_time_handling_rate"].value) == (3.0, 0.75)
    assert dept["reports"].value == 0.0  # reports belong to the territory and the reporter
    worker = compute(
        world.db,
        unit_kind="worker",
        unit_code=world.worker.username,
        period=period,
        codes=["reports", "valid_report_rate", "on_time_verification_rate"],
        now=NOW,
    )
    assert worker["reports"].value == 5.0
    assert worker["valid_report_rate"].value == 0.8
    assert worker["on_time_verification_rate"].numerator == 3


def test_a_closed_week_does_not_change_when_the_case_moves_later(world: World) -> None:
    build_history(world)
    week = Period.parse("2026-W45")  # 2026-11-02 .. 2026-11-08
    before = compute(world.db, unit_kind="township", unit_code="441900101", period=week, now=NOW)
    e = world.db.scalars(select(Case).order_by(Case.id.desc())).first()
    with acting_at(local("2026-11-20 09:00")):
        world.drive(e, "accept")
    later = local("2026-12-20 09:00")
    after = compute(world.db, unit_kind="township", unit_code="441900101", period=week, now=later)
    assert {k: v.value for k, v in before.items() if k != "open_red_share"} == {
        k: v.value for k, v in after.items() if k != "open_red_share"
    }


def test_a_period_without_data_gives_zeros_and_no_data(world: World) -> None:
    got = compute(
        world.db, unit_kind="village", unit_code=world.village, period=Period.parse("2031-Q2")
    )
    assert got["reports"].value == 0.0
    assert got["closure_rate"].value is None
    assert got["close_hours_median"].value is None


@pytest.mark.parametrize(
    ("kind", "code", "codes", "named"),
    [
        ("street", "441900101", None, "valid units: province"),
        ("township", "4419", None, "9 digits"),
        ("village", "441900101002", ["nope"], "valid indicators: reports"),
        ("worker", "nobody-here", None, "unknown worker"),
    ],
)
def test_bad_units_and_indicators_are_400_naming_the_valid_ones(
    world: World, kind: str, code: str, codes: list[str] | None, named: str
) -> None:
    with pytest.raises(BadRequest) as err:
        compute(world.db, unit_kind=kind, unit_code=code, period=Period.parse("2026"), codes=codes)
    assert err.value.status_code == 400
    assert named in err.value.message


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-Q5", "W48", "2026-11-31", "2026-12-01..2026-11-01", ""]
)
def test_bad_periods_name_the_valid_forms(text: str) -> None:
    with pytest.raises(Exception) as err:
        Period.parse(text)
    assert "2026-Q4" in str(err.value)
    assert getattr(err.value, "status_code", None) == 400


def test_periods_parse_and_step_back() -> None:
    q4 = Period.parse("2026-Q4")
    assert (q4.first.isoformat(), q4.last.isoformat()) == ("2026-10-01", "2026-12-31")
    assert q4.previous().label == "2026-Q3"
    assert q4.year_before().label == "2025-Q4"
    w = Period.parse("2026-W48")
    assert (w.first.isoformat(), w.days, w.previous().label) == ("2026-11-23", 7, "2026-W47")
    assert Period.parse("2026-11").previous().label == "2026-10"
    assert Period.parse("2026-11-30").days == 1
    assert Period.parse("2026-01-01..2026-01-10").days == 10


def test_every_indicator_is_documented() -> None:
    from pathlib import Path

    from civgrid.figures.indicators import INDICATORS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "figures.md").read_text()
    missing = [code for code, ind in INDICATORS.items() if f"`{code}` | {ind.name_zh}" not in doc]
    assert missing == []


def test_scores_weigh_the_rates_with_data_and_grade_them() -> None:
    from civgrid.figures.scores import grade, score
    from civgrid.figures.service import IndicatorValue

    assert [grade(x) for x in (100, 90, 89.9, 75, 60, 59.9, 40, 39.9, 0)] == list("AABBCDDEE")
    values = {
        "on_time_handling_rate": IndicatorValue("on_time_handling_rate", 9, 10, 0.9),
        "rework_rate": IndicatorValue("rework_rate", 1, 10, 0.1),  # down: counts as 0.9
        "satisfaction_rate": IndicatorValue("satisfaction_rate", 0, 0, None),  # no data: left out
    }
    got = score(
        values, {"on_time_handling_rate": 0.5, "rework_rate": 0.3, "satisfaction_rate": 0.2}
    )
    assert (got.value, got.grade) == (90.0, "A")
    assert score({}, {"rework_rate": 1.0}).value is None


# Whole months, partial months and ranges across them: whole months of a township or above
# (or a department) are read from the month rows, the edges from the daily rows.
SPLIT_PERIODS = [
    "2026-11",
    "2026-Q4",
    "2026",
    "2026-W45",
    "2026-11-03..2026-11-30",
    "2026-10-15..2026-11-15",
    "2026-11-01..2026-11-29",
    "2026-10-20..2027-01-10",
]


def test_rollups_by_whole_months_and_edge_days_equal_the_raw_events(world: World) -> None:
    from civgrid.figures.actions import rebuild
    from civgrid.figures.models import FigureMonthCount

    build_history(world)
    rebuild(world.db, now=local("2027-02-01 09:00"))
    assert world.db.query(FigureMonthCount).count() > 0
    units = [
        ("township", "441900101"),
        ("county", "441900"),
        ("province", "44"),
        ("department", world.dept.code),
        ("village", world.village),
        ("worker", world.worker.username),
    ]
    for kind, code in units:
        for text in SPLIT_PERIODS:
            p = Period.parse(text)
            auto = compute(world.db, unit_kind=kind, unit_code=code, period=p, now=NOW)
            raw = compute(world.db, unit_kind=kind, unit_code=code, period=p, source="raw", now=NOW)
            assert auto == raw, (kind, code, text)
    nov = compute(world.db, unit_kind="county", unit_code="441900", period=Period.parse("2026-11"))
    assert nov["reports"].value == 5.0


def test_units_counted_together_equal_each_counted_alone(world: World) -> None:
    from civgrid.figures.service import compute_each
    from civgrid.figures.units import unit_for

    build_history(world)
    period = Period.parse("2026-11-02..2026-12-01")
    for kind, codes in (
        ("village", [world.village, "441900101999"]),
        ("department", [world.dept.code, world.dept2.code]),
    ):
        units = [unit_for(world.db, kind, c) for c in codes]
        together = compute_each(world.db, units, period, now=NOW)
        for code in codes:
            alone = compute(world.db, unit_kind=kind, unit_code=code, period=period, now=NOW)
            assert together[code] == alone, (kind, code)
    assert together[world.dept.code]["dispatched"].value == 3.0


@pytest.mark.parametrize(
    ("first", "last", "months", "days"),
    [
        ("2026-11-01", "2026-11-30", ("2026-11-01", "2026-11-01"), []),
        ("2026-10-01", "2026-12-31", ("2026-10-01", "2026-12-01"), []),
        ("2026-11-02", "2026-11-30", None, [("2026-11-02", "2026-11-30")]),
        ("2026-11-01", "2026-11-29", None, [("2026-11-01", "2026-11-29")]),
        (
            "2026-10-15",
            "2027-01-10",
            ("2026-11-01", "2026-12-01"),
            [("2026-10-15", "2026-10-31"), ("2027-01-01", "2027-01-10")],
        ),
        ("2026-02-01", "2026-02-28", ("2026-02-01", "2026-02-01"), []),
    ],
)
def test_periods_split_into_whole_months_and_edge_days(
    first: str, last: str, months: tuple[str, str] | None, days: list[tuple[str, str]]
) -> None:
    from datetime import date

    from civgrid.figures.rollups import split_months

    got_months, got_days = split_months(date.fromisoformat(first), date.fromisoformat(last))
    as_text = [(a.isoformat(), b.isoformat()) for a, b in got_days]
    assert (got_months and tuple(d.isoformat() for d in got_months), as_text) == (months, days)
