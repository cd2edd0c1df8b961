"""Deadlines on the working calendar, checked against a minute-by-minute reference."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civgrid.calendar.limits import parse_time_limit
from civgrid.calendar.service import get_calendar, official_days
from civgrid.calendar.units import Light, TimeUnit
from civgrid.calendar.workcalendar import CalendarError, WorkCalendar, parse_periods
from civgrid.demo import DATA_DIR

TZ = ZoneInfo("Asia/Shanghai")
PERIODS = parse_periods("08:00-12:00,14:00-18:00")


def cal() -> WorkCalendar:
    days = official_days()
    return WorkCalendar(
        holidays=frozenset(d for d, o in days.items() if o.kind == "holiday"),
        workdays=frozenset(d for d, o in days.items() if o.kind == "workday"),
        periods=PERIODS,
        tz=TZ,
    )


CAL = cal()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def brute_working_deadline(c: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """Walk minute by minute, counting the minutes that are working time."""
    t = start
    while minutes > 0:
        if c.is_working_time(t):
            minutes -= 1
        t += timedelta(minutes=1)
    return t


# Starts from Jan 2026 to the end of 2026, on whole minutes, so the Spring Festival
# (Feb 15–23, make-up Sat Feb 14 and Sat Feb 28) and National Day weeks are covered.
starts = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001  (hypothesis wants naive bounds)
    max_value=datetime(2026, 12, 20),  # noqa: DTZ001
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=TZ))
holiday_starts = st.sampled_from(
    [
        at("2026-02-13T17:30"),
        at("2026-02-14T09:00"),
        at("2026-02-15T10:00"),
        at("2026-09-30T16:00"),
        at("2026-10-08T07:00"),
        at("2026-09-20T11:59"),
        at("2026-12-31T17:59"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(start=st.one_of(starts, holiday_starts), hours=st.integers(min_value=0, max_value=40))
def test_working_hours_match_brute_force(start: datetime, hours: int) -> None:
    expected = brute_working_deadline(CAL, start, hours * 60)
    got = CAL.deadline(start, hours, TimeUnit.WORK_HOURS)
    if hours:
        assert got == expected.astimezone(UTC)
    else:
        assert got == start.astimezone(UTC)


@settings(max_examples=60, deadline=None)
@given(start=st.one_of(starts, holiday_starts), days=st.integers(min_value=1, max_value=10))
def test_working_days_are_days_of_working_hours(start: datetime, days: int) -> None:
    assert CAL.deadline(start, days, TimeUnit.WORK_DAYS) == brute_working_deadline(
        CAL, start, days * 8 * 60
    ).astimezone(UTC)


@given(start=starts, amount=st.floats(min_value=0, max_value=500, allow_nan=False))
def test_continuous_units(start: datetime, amount: float) -> None:
    assert CAL.deadline(start, amount, TimeUnit.EMERGENCY_HOURS) == start + timedelta(hours=amount)
    assert CAL.deadline(start, amount, TimeUnit.NATURAL_DAYS) == start + timedelta(days=amount)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "due"),
    [
        # Friday after hours → counting starts Monday 08:00.
        ("2026-11-20T19:00", 4, TimeUnit.WORK_HOURS, "2026-11-23T12:00"),
        # A period used up exactly ends at its close, not at the next period's start.
        ("2026-11-23T08:00", 4, TimeUnit.WORK_HOURS, "2026-11-23T12:00"),
        ("2026-11-23T11:00", 2, TimeUnit.WORK_HOURS, "2026-11-23T15:00"),
        # National Day 2026: Oct 1–7 off, Sat Oct 10 is a make-up working day.
        ("2026-09-30T16:00", 1, TimeUnit.WORK_DAYS, "2026-10-08T16:00"),
        ("2026-10-09T17:00", 1, TimeUnit.WORK_DAYS, "2026-10-10T17:00"),
        # Spring Festival 2026: Sat Feb 14 is worked, Feb 15–23 off.
        ("2026-02-13T10:00", 2, TimeUnit.WORK_DAYS, "2026-02-24T10:00"),
        ("2026-02-13T10:00", 0.5, TimeUnit.WORK_DAYS, "2026-02-13T16:00"),
        ("2026-10-01T10:00", 2, TimeUnit.EMERGENCY_HOURS, "2026-10-01T12:00"),
        ("2026-10-01T10:00", 1, TimeUnit.NATURAL_DAYS, "2026-10-02T10:00"),
    ],
)
def test_hand_checked_deadlines(start: str, amount: float, unit: TimeUnit, due: str) -> None:
    assert CAL.deadline(at(start), amount, unit) == at(due)


def test_lights() -> None:
    start, unit = at("2026-11-23T08:00"), TimeUnit.WORK_HOURS
    due = CAL.deadline(start, 10, unit)  # Tue 10:00
    assert CAL.light(start, due, at("2026-11-23T15:00"), unit) == Light.GREEN  # 5/10
    assert CAL.light(start, due, at("2026-11-24T08:00"), unit) == Light.YELLOW  # 8/10
    assert CAL.light(start, due, due, unit) == Light.YELLOW  # exactly at the limit
    assert CAL.light(start, due, due + timedelta(minutes=1), unit) == Light.RED
    # Overdue stays red at night, though no working time passes.
    assert CAL.light(start, due, at("2026-11-24T23:00"), unit) == Light.RED
    assert CAL.used_fraction(start, due, at("2026-11-23T10:30"), unit) == pytest.approx(0.25)


def test_every_time_limit_of_the_example_city_parses_and_computes() -> None:
    path = DATA_DIR / "catalogue" / "time_limits_example.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 279
    units: dict[TimeUnit, int] = {}
    start = at("2026-09-30T16:00")
    for row in rows:
        amount, unit = parse_time_limit(row["time_limit"])
        units[unit] = units.get(unit, 0) + 1
        due = CAL.deadline(start, amount, unit)
        assert due > start
        if unit in (TimeUnit.WORK_HOURS, TimeUnit.WORK_DAYS):
            assert CAL.is_working_time(due - timedelta(seconds=1))
    assert units == {TimeUnit.WORK_DAYS: 234, TimeUnit.WORK_HOURS: 26, TimeUnit.EMERGENCY_HOURS: 19}


@pytest.mark.parametrize("text", ["", "两工作日", "5 weeks", "-1工作日", "3工作"])
def test_bad_time_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time limit"):
        parse_time_limit(text)


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ("", "at least one working period"),
        ("12:00-08:00", "ends before it starts"),
        ("08:00-12:00,11:00-13:00", "overlap"),
        ("8-12", "HH:MM-HH:MM"),
    ],
)
def test_impossible_working_periods_are_refused(periods: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_periods(periods)


def test_a_calendar_without_working_days_is_refused() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(3700))
    broken = WorkCalendar(holidays=every_day, workdays=frozenset(), periods=PERIODS, tz=TZ)
    with pytest.raises(CalendarError, match="no working time"):
        broken.deadline(at("2026-01-01T09:00"), 1, TimeUnit.WORK_HOURS)


def test_naive_start_is_refused() -> None:
    with pytest.raises(CalendarError, match="timezone-aware"):
        CAL.deadline(datetime(2026, 1, 5, 9), 1, TimeUnit.WORK_HOURS)  # noqa: DTZ001


def test_custom_periods_shift_deadlines() -> None:
    late = WorkCalendar(CAL.holidays, CAL.workdays, parse_periods("09:00-17:00"), TZ)
    assert late.day_length == timedelta(hours=8)
    assert late.deadline(at("2026-11-23T16:00"), 2, TimeUnit.WORK_HOURS) == at("2026-11-24T10:00")


def test_database_calendar_matches_the_shipped_one(db) -> None:  # type: ignore[no-untyped-def]
    c = get_calendar(db)
    assert c.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert not c.is_working_day(date(2026, 10, 1))
    assert not c.is_working_day(date(2026, 11, 22))  # a plain Sunday
    assert time(8) == c.periods[0][0]


def stored_light(yellow: datetime, due: datetime, now: datetime) -> Light:
    """The light as the desk's SQL colours it from the two stored instants."""
    if now > due:
        return Light.RED
    return Light.YELLOW if now >= yellow else Light.GREEN


@settings(max_examples=150, deadline=None)
@given(
    start=st.one_of(starts, holiday_starts),
    amount=st.integers(min_value=0, max_value=30),
    unit=st.sampled_from(list(TimeUnit)),
    later=st.integers(min_value=0, max_value=60 * 24 * 40),
)
def test_the_stored_yellow_instant_gives_the_same_light(
    start: datetime, amount: int, unit: TimeUnit, later: int
) -> None:
    """Lights coloured in SQL (yellow from ``turns_yellow``, red after the deadline) are the
    calendar's lights at every instant, in every unit; and just before it, the light is green."""
    due = CAL.deadline(start, amount, unit)
    yellow = CAL.turns_yellow(start, due, unit)
    now = start + timedelta(minutes=later)
    assert stored_light(yellow, due, now) == CAL.light(start, due, now, unit)
    assert CAL.light(start, due, yellow, unit) != Light.GREEN
    if amount and yellow > start:
        assert CAL.light(start, due, yellow - timedelta(seconds=1), unit) == Light.GREEN
