"""Periods of the figures: a day, ISO week, month, quarter, year or custom range of local days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from civgrid.config import get_settings
from civgrid.errors import CivgridError

FORMATS = ("2026", "2026-Q4", "2026-11", "2026-W48", "2026-11-30", "2026-11-01..2026-11-30")

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
MAX_RANGE_DAYS = 3 * 366 + 1


class BadPeriod(CivgridError):
    """A period text that is none of the accepted forms (400 naming them)."""

    status_code = 400
    code = "bad_period"


@dataclass(frozen=True)
class Period:
    """The local days ``first`` to ``last`` inclusive, and the kind that named them."""

    kind: str  # "year" | "quarter" | "month" | "week" | "day" | "range"
    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026', '2026-Q4', '2026-11', '2026-W48', '2026-11-30' or '2026-11-01..2026-11-30'."""
        text = (text or "").strip()
        try:
            return _parse(text)
        except ValueError:
            pass
        raise BadPeriod(
            f"unknown period {text!r}; valid forms: {', '.join(FORMATS)}",
            valid=list(FORMATS),
        )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the period's local days."""
        start = datetime.combine(self.first, time(), tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz).astimezone(UTC)
        return start, end

    def previous(self) -> Period:
        """The period of the same kind just before (环比)."""
        if self.kind == "year":
            return _parse(str(self.first.year - 1))
        if self.kind == "quarter":
            return _quarter_of(self.first - timedelta(days=1))
        if self.kind == "month":
            return _month_of(self.first - timedelta(days=1))
        step = timedelta(days=self.days)
        return Period(self.kind, self.first - step, self.last - step)

    def year_before(self) -> Period:
        """The same period one year earlier (同比)."""
        if self.kind == "week":
            iso = self.first.isocalendar()
            return _week(iso.year - 1, min(iso.week, 52))
        first = _shift_year(self.first, -1)
        last = _shift_year(self.last, -1)
        return Period(self.kind, first, last)

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.first.year}"
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "week":
            iso = self.first.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        if self.kind == "day":
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def __str__(self) -> str:
        return self.label


def _shift_year(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _month_of(d: date) -> Period:
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return Period("month", first, nxt - timedelta(days=1))


def _quarter_of(d: date) -> Period:
    q = (d.month - 1) // 3
    first = date(d.year, 3 * q + 1, 1)
    last = _month_of(date(d.year, 3 * q + 3, 1)).last
    return Period("quarter", first, last)


def _week(year: int, week: int) -> Period:
    first = date.fromisocalendar(year, week, 1)
    return Period("week", first, first + timedelta(days=6))


def _parse(text: str) -> Period:
    if m := _YEAR.match(text):
        y = int(m[1])
        return Period("year", date(y, 1, 1), date(y, 12, 31))
    if m := _QUARTER.match(text):
        return _quarter_of(date(int(m[1]), 3 * int(m[2]) - 2, 1))
    if m := _MONTH.match(text):
        return _month_of(date(int(m[1]), int(m[2]), 1))
    if m := _WEEK.match(text):
        return _week(int(m[1]), int(m[2]))
    if m := _DAY.match(text):
        d = date(int(m[1]), int(m[2]), int(m[3]))
        return Period("day", d, d)
    if m := _RANGE.match(text):
        first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            raise ValueError(text)
        return Period("range", first, last)
    raise ValueError(text)


def current(kind: str, today: date) -> Period:
    """The period of ``kind`` (week, month, quarter, year) that contains ``today``."""
    if kind == "week":
        iso = today.isocalendar()
        return _week(iso.year, iso.week)
    if kind == "month":
        return _month_of(today)
    if kind == "quarter":
        return _quarter_of(today)
    if kind == "year":
        return _parse(str(today.year))
    return Period("day", today, today)


def tz() -> ZoneInfo:
    """The deployment's time zone, in which the figures' days begin."""
    return get_settings().tz


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local ``day`` begins."""
    return datetime.combine(day, time(), zone).astimezone(UTC)
