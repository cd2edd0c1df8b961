"""Deadline arithmetic on a working calendar (pure: no database).

Rules (what Chinese 数字城管 standards mean by the four units):

- 紧急工作时 (emergency hours) and 自然日 (natural days) run on the continuous clock:
  ``start + N hours`` and ``start + N × 24 hours``.
- 工作时 (working hours) count only time inside the working periods (default 08:00–12:00 and
  14:00–18:00, local time) of working days. A case reported outside them starts counting at the
  next period; a deadline that uses up a period exactly ends at that period's close.
- 工作日 (working days): one working day is the length of one day's working periods (8 working
  hours by default), so N working days = N × 8 working hours, counted as above. A case
  reported at 10:00 on Monday with 1 working day is due 10:00 on Tuesday; reported on Friday
  after 18:00 it is due Monday 18:00. Fractions work the same way (0.5 工作日 = 4 工作时).
- Working days are Monday–Friday, minus public holidays, plus make-up working days (调休).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from civgrid.calendar.units import Light, TimeUnit

# Give up looking for working time after this many days: the calendar is broken.
MAX_SEARCH_DAYS = 3660
DAY = timedelta(days=1)
# The share of a limit used at which the light turns from green to yellow.
YELLOW_SHARE = 0.8

Period = tuple[time, time]


class CalendarError(ValueError):
    """The calendar cannot produce deadlines (no working time, bad periods)."""


def parse_periods(text: str) -> tuple[Period, ...]:
    """``"08:00-12:00,14:00-18:00"`` → periods; refuses empty, inverted or overlapping ones."""
    periods: list[Period] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            a, b = (time.fromisoformat(x.strip()) for x in part.split("-"))
        except ValueError:
            raise CalendarError(f"working period {part!r} is not HH:MM-HH:MM") from None
        periods.append((a, b))
    return check_periods(periods)


def check_periods(periods: Iterable[Period]) -> tuple[Period, ...]:
    """Sorted periods, or CalendarError if they would make deadlines impossible or ambiguous."""
    ordered = sorted(periods)
    if not ordered:
        raise CalendarError("a working day needs at least one working period")
    for start, end in ordered:
        if start >= end:
            raise CalendarError(f"working period {start:%H:%M}-{end:%H:%M} ends before it starts")
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        if start < end:
            raise CalendarError(f"working periods overlap at {start:%H:%M}")
    return tuple(ordered)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class WorkCalendar:
    """Holidays, make-up working days and daily working periods in one time zone."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    periods: tuple[Period, ...]
    tz: ZoneInfo

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", check_periods(self.periods))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))

    @property
    def day_length(self) -> timedelta:
        """The working time in one working day (8 h by default)."""
        return timedelta(minutes=sum(_minutes(b) - _minutes(a) for a, b in self.periods))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working periods as aware datetimes (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [
            (datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz))
            for a, b in self.periods
        ]

    def is_working_time(self, t: datetime) -> bool:
        local = t.astimezone(self.tz)
        return any(a <= local < b for a, b in self.windows(local.date()))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside [start, end) (zero if end <= start)."""
        total = timedelta()
        if end <= start:
            return total
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            for a, b in self.windows(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += DAY
        return total

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which ``amount`` of working time after ``start`` has passed."""
        if amount < timedelta():
            raise CalendarError("a time limit cannot be negative")
        if not amount:
            return start.astimezone(UTC)
        remaining = amount
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_SEARCH_DAYS):
            for a, b in self.windows(day):
                lo = max(a, start)
                if b <= lo:
                    continue
                if remaining <= b - lo:
                    return (lo + remaining).astimezone(UTC)
                remaining -= b - lo
            day += DAY
        raise CalendarError(
            f"no working time found within {MAX_SEARCH_DAYS} days of {start:%Y-%m-%d}"
        )

    def deadline(self, start: datetime, amount: float, unit: TimeUnit) -> datetime:
        """When a limit of ``amount`` ``unit`` that starts at ``start`` runs out (UTC)."""
        if start.tzinfo is None:
            raise CalendarError("start must be timezone-aware")
        if amount < 0:
            raise CalendarError("a time limit cannot be negative")
        if unit == TimeUnit.EMERGENCY_HOURS:
            return (start + timedelta(hours=amount)).astimezone(UTC)
        if unit == TimeUnit.NATURAL_DAYS:
            return (start + timedelta(days=amount)).astimezone(UTC)
        if unit == TimeUnit.WORK_HOURS:
            return self.add_working_time(start, timedelta(hours=amount))
        if unit == TimeUnit.WORK_DAYS:
            return self.add_working_time(start, self.day_length * amount)
        raise CalendarError(f"unknown time unit {unit!r}")

    def elapsed(self, start: datetime, now: datetime, unit: TimeUnit) -> timedelta:
        """Time used since ``start`` on the unit's clock (working time for working units)."""
        if unit in (TimeUnit.WORK_HOURS, TimeUnit.WORK_DAYS):
            return self.working_time_between(start, now)
        return max(now - start, timedelta())

    def used_fraction(
        self, start: datetime, deadline: datetime, now: datetime, unit: TimeUnit
    ) -> float:
        """Share of the limit used at ``now`` (1.0 exactly at the deadline)."""
        limit = self.elapsed(start, deadline, unit)
        used = self.elapsed(start, now, unit)
        if limit <= timedelta():
            return 1.0 if now <= deadline else float("inf")
        if now > deadline and used <= limit:
            # Past the deadline but outside working time: still overdue.
            return 1.0 + 1e-9
        return used / limit

    def turns_yellow(self, start: datetime, deadline: datetime, unit: TimeUnit) -> datetime:
        """The instant 80 % of the limit is used: before it the light is green (UTC).

        Stored with the deadline, it lets lists colour lights in SQL: green before it, yellow
        up to the deadline, red after (what :meth:`light` says at every instant).
        """
        limit = self.elapsed(start, deadline, unit)
        if limit <= timedelta():
            return min(start, deadline).astimezone(UTC)
        if unit in (TimeUnit.WORK_HOURS, TimeUnit.WORK_DAYS):
            return self.add_working_time(start, limit * YELLOW_SHARE)
        return (start + limit * YELLOW_SHARE).astimezone(UTC)

    def light(self, start: datetime, deadline: datetime, now: datetime, unit: TimeUnit) -> Light:
        """Green below 80 % of the limit, yellow from 80 % to 100 %, red beyond."""
        fraction = self.used_fraction(start, deadline, now, unit)
        if fraction < YELLOW_SHARE:
            return Light.GREEN
        return Light.YELLOW if fraction <= 1.0 else Light.RED
