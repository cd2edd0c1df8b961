"""The deployment's working calendar: shipped holidays, chinesecalendar, local edits, settings."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.calendar.models import CalendarDay, DayKind
from civgrid.calendar.workcalendar import WorkCalendar, parse_periods
from civgrid.config import get_settings
from civgrid.db.cache import TableCache

DATA = Path(__file__).resolve().parent.parent / "data" / "calendar" / "cn_holidays.csv"


@dataclass(frozen=True)
class OfficialDay:
    day: date
    kind: DayKind
    name_zh: str
    name_en: str


@lru_cache
def official_days() -> dict[date, OfficialDay]:
    """The shipped holiday data, with chinesecalendar for the years it does not cover."""
    days: dict[date, OfficialDay] = {}
    for table, kind in (
        (chinese_calendar.holidays, DayKind.HOLIDAY),
        (chinese_calendar.workdays, DayKind.WORKDAY),
    ):
        for d, name in table.items():
            days[d] = OfficialDay(d, kind, name, name)
    with DATA.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            d = date.fromisoformat(row["date"])
            days[d] = OfficialDay(d, DayKind(row["kind"]), row["name_zh"], row["name_en"])
    return days


def local_edits(db: Session, year: int | None = None) -> Sequence[CalendarDay]:
    query = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
        )
    return db.scalars(query).all()


@lru_cache(maxsize=8)
def _build(edits: tuple[tuple[date, DayKind], ...], periods: str, tz: str) -> WorkCalendar:
    kinds = {d: o.kind for d, o in official_days().items()}
    kinds.update(dict(edits))
    return WorkCalendar(
        holidays=frozenset(d for d, k in kinds.items() if k == DayKind.HOLIDAY),
        workdays=frozenset(d for d, k in kinds.items() if k == DayKind.WORKDAY),
        periods=parse_periods(periods),
        tz=ZoneInfo(tz),
    )


def _load_edits(db: Session) -> tuple[tuple[date, DayKind], ...]:
    rows = db.execute(select(CalendarDay.day, CalendarDay.kind).order_by(CalendarDay.day))
    return tuple((day, kind) for day, kind in rows)


# The local edits, read once per database and kept until they change (see civgrid.db.cache).
_EDITS = TableCache("calendar_days", _load_edits, (CalendarDay,))


def get_calendar(db: Session) -> WorkCalendar:
    """The working calendar now in force (rebuilt only when the edits or the settings change)."""
    settings = get_settings()
    return _build(_EDITS.get(db), settings.work_periods, settings.timezone)
