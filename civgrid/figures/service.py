"""Figures: compute indicators for a unit and a period, from the rollups or the raw events.

``compute`` is the interface other domains use (the quarterly appraisal of workforce)::

    compute(db, unit_kind="township", unit_code="441900101", period=Period.parse("2026-Q4"))

Facts dated before the rollups' ``built_until`` are read from ``figure_counts``; later ones
(today, and deadlines still ahead) are derived from the raw events, so a figure is never stale.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseSummons
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.errors import CivgridError
from civgrid.figures.facts import (
    CaseRow,
    ClockRow,
    EventRow,
    Fact,
    InspectionRow,
    SummonsRow,
    case_facts,
    inspection_facts,
    light_at,
)
from civgrid.figures.indicators import CLOSE_HOURS_PREFIX, INDICATORS, Indicator
from civgrid.figures.models import FigureBuild, FigureCount
from civgrid.figures.periods import Period
from civgrid.inspections.models import InspectionRecord, InspectionResult
from civgrid.text import is_digits

# Unit kinds, and the length of their codes where the code is a division code.
UNIT_KINDS: dict[str, int | None] = {
    "province": 2,
    "city": 4,
    "county": 6,
    "township": 9,
    "village": 12,
    "grid": None,
    "department": None,
    "worker": None,
}
TERRITORIAL = ("province", "city", "county", "township", "village", "grid")
CHUNK = 2000


class BadRequest(CivgridError):
    status_code = 400
    code = "bad_request"


@dataclass(frozen=True)
class Unit:
    kind: str
    code: str
    worker_id: int = 0

    @property
    def territorial(self) -> bool:
        return self.kind in TERRITORIAL


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator's figure: the counts it is made of and its value (None: no data)."""

    code: str
    numerator: float
    denominator: int | None
    value: float | None

    @property
    def has_data(self) -> bool:
        return self.value is not None


def unit_for(db: Session, kind: str, code: str) -> Unit:
    """Check a unit kind and code (400 naming the valid kinds); workers by username."""
    if kind not in UNIT_KINDS:
        raise BadRequest(
            f"unknown unit {kind!r}; valid units: {', '.join(UNIT_KINDS)}", valid=list(UNIT_KINDS)
        )
    code = (code or "").strip()
    length = UNIT_KINDS[kind]
    if kind == "worker":
        user_id = db.scalar(select(User.id).where(User.username == code))
        if user_id is None:
            raise BadRequest(f"unknown worker {code!r}")
        return Unit(kind, code, user_id)
    if kind == "grid" and not (len(code) > 12 and code.isalnum()):
        raise BadRequest(f"a grid code is longer than 12 characters, not {code!r}")
    if length is not None and not (len(code) == length and is_digits(code)):
        raise BadRequest(f"a {kind} code has {length} digits, not {code!r}")
    if kind == "department" and not code:
        raise BadRequest("a department code is required")
    return Unit(kind, code)


def check_codes(codes: Sequence[str] | None) -> list[Indicator]:
    """The indicators named (all when None); 400 naming the valid codes for an unknown one."""
    if codes is None:
        return list(INDICATORS.values())
    unknown = [c for c in codes if c not in INDICATORS]
    if unknown:
        raise BadRequest(
            f"unknown indicator {', '.join(unknown)}; valid indicators: {', '.join(INDICATORS)}",
            valid=list(INDICATORS),
        )
    return [INDICATORS[c] for c in codes]


def compute(
    db: Session,
    *,
    unit_kind: str,
    unit_code: str,
    period: Period,
    codes: Sequence[str] | None = None,
    source: str = "auto",
    now: datetime | None = None,
) -> dict[str, IndicatorValue]:
    """The indicators ``codes`` (all by default) of one unit over one period.

    ``source`` "raw" recomputes everything from the events; "auto" reads the rollups where
    they are built. Scope is the caller's business (``civgrid.figures.routes`` checks it).
    """
    unit = unit_for(db, unit_kind, unit_code)
    indicators = check_codes(codes)
    now = now or utcnow()
    counts = part_counts(db, unit, period, source=source, now=now)
    if any(i.kind == "snapshot" for i in indicators):
        counts.update(snapshot_counts(db, unit, period, now=now))
    return {i.code: evaluate(i, counts) for i in indicators}


def evaluate(indicator: Indicator, counts: Counter[str]) -> IndicatorValue:
    """An indicator's value from part counts."""
    if indicator.kind == "quantile":
        hours = close_hours(counts)
        n = sum(hours.values())
        q = indicator.quantile or 0.5
        return IndicatorValue(indicator.code, n, None, nearest_rank(hours, q) if n else None)
    numerator = 0
    for part in indicator.numerator:
        numerator += -counts[part[1:]] if part.startswith("-") else counts[part]
    if indicator.denominator is None:
        return IndicatorValue(indicator.code, numerator, None, float(numerator))
    denominator = counts[indicator.denominator]
    value = numerator / denominator if denominator else None
    return IndicatorValue(indicator.code, numerator, denominator, value)


def close_hours(counts: Counter[str]) -> dict[int, int]:
    return {
        int(part[len(CLOSE_HOURS_PREFIX) :]): n
        for part, n in counts.items()
        if part.startswith(CLOSE_HOURS_PREFIX) and n
    }


def nearest_rank(histogram: dict[int, int], q: float) -> float:
    """The nearest-rank quantile ``q`` of values given as value → count."""
    total = sum(histogram.values())
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    raise ValueError("empty histogram")  # pragma: no cover


def tz() -> ZoneInfo:
    return get_settings().tz


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def built_until(db: Session) -> date | None:
    """Rollups hold every fact dated before this local day (None: never built)."""
    return db.scalar(select(FigureBuild.built_until).order_by(FigureBuild.id.desc()).limit(1))


def part_counts(
    db: Session, unit: Unit, period: Period, *, source: str = "auto", now: datetime
) -> Counter[str]:
    """Counts of every part for the unit and period: rollups up to their build, raw after."""
    counts: Counter[str] = Counter()
    first, last = period.first, period.last
    until = built_until(db) if source == "auto" else None
    if until is not None and first < until:
        rolled_last = min(last, date.fromordinal(until.toordinal() - 1))
        counts.update(rollup_counts(db, unit, first, rolled_last))
        first = until
    if first <= last:
        counts.update(raw_counts(db, unit, first, last, now=now))
    return counts


def _unit_filter_rollup(unit: Unit) -> ColumnElement[bool]:
    if unit.kind == "department":
        return FigureCount.department_code == unit.code
    if unit.kind == "worker":
        return FigureCount.worker_id == unit.worker_id
    if unit.kind == "grid":
        return FigureCount.territory_code == unit.code
    return FigureCount.territory_code.startswith(unit.code, autoescape=True)


def rollup_counts(db: Session, unit: Unit, first: date, last: date) -> Counter[str]:
    rows = db.execute(
        select(FigureCount.part, func.sum(FigureCount.n))
        .where(FigureCount.day >= first, FigureCount.day <= last, _unit_filter_rollup(unit))
        .group_by(FigureCount.part)
    )
    return Counter({part: int(n) for part, n in rows})


def fact_in_unit(f: Fact, unit: Unit) -> bool:
    if unit.kind == "department":
        return f.department_code == unit.code
    if unit.kind == "worker":
        return f.worker_id == unit.worker_id
    if unit.kind == "grid":
        return f.territory_code == unit.code
    return f.territory_code.startswith(unit.code)


def raw_counts(db: Session, unit: Unit, first: date, last: date, *, now: datetime) -> Counter[str]:
    """Counts of the unit's facts dated on the local days first..last, from the raw log."""
    zone = tz()
    start, end = day_start(first, zone), day_start(date.fromordinal(last.toordinal() + 1), zone)
    counts: Counter[str] = Counter()
    territory = _case_territory(unit)
    for f in facts_between(db, start, end, now=now, territory=territory):
        if start <= f.at < end and fact_in_unit(f, unit):
            counts[f.part] += 1
    for f in inspection_facts_between(db, start, end, unit=unit):
        if fact_in_unit(f, unit):
            counts[f.part] += 1
    return counts


def inspection_facts_between(
    db: Session, start: datetime | None, end: datetime, *, unit: Unit | None = None
) -> Iterator[Fact]:
    """Facts of the inspections done in [start, end) (before end for None), of the unit's
    records (every record for None)."""
    opened = (
        select(func.count(InspectionResult.case_id))
        .where(InspectionResult.record_id == InspectionRecord.id)
        .scalar_subquery()
    )
    q = select(
        InspectionRecord.inspected_at,
        InspectionRecord.grid_code,
        InspectionRecord.inspector_id,
        InspectionRecord.failed,
        opened,
    ).where(InspectionRecord.inspected_at < end)
    if start is not None:
        q = q.where(InspectionRecord.inspected_at >= start)
    if unit is not None and unit.kind == "department":
        return
    if unit is not None and unit.territorial:
        q = q.where(InspectionRecord.grid_code.startswith(unit.code, autoescape=True))
    if unit is not None and unit.kind == "worker":
        q = q.where(InspectionRecord.inspector_id == unit.worker_id)
    for row in db.execute(q.order_by(InspectionRecord.id)):
        yield from inspection_facts(InspectionRow(*row))


def _case_territory(unit: Unit) -> ColumnElement[bool] | None:
    if unit.territorial:
        return Case.territory_code.startswith(unit.code, autoescape=True)
    return None


def touched_cases(
    db: Session, start: datetime, end: datetime, territory: ColumnElement[bool] | None = None
) -> list[int]:
    """Ids of the cases with an event, a clock deadline or a summons deadline in [start, end)."""
    ids: set[int] = set()
    for column, at in (
        (CaseEvent.case_id, CaseEvent.at),
        (CaseClock.case_id, CaseClock.due_at),
        (CaseSummons.case_id, CaseSummons.due_at),
    ):
        q = select(column).distinct().where(at >= start, at < end)
        if territory is not None:
            q = q.join(Case, Case.id == column).where(territory)
        ids.update(db.scalars(q))
    return sorted(ids)


def facts_between(
    db: Session,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    territory: ColumnElement[bool] | None = None,
) -> Iterator[Fact]:
    """All facts of the cases touched in [start, end) (facts outside it too: caller filters)."""
    ids = touched_cases(db, start, end, territory)
    calendar = get_calendar(db)
    for i in range(0, len(ids), CHUNK):
        yield from facts_of_cases(db, ids[i : i + CHUNK], calendar, now)


def facts_of_cases(db: Session, ids: Sequence[int], calendar, now: datetime) -> Iterable[Fact]:  # type: ignore[no-untyped-def]
    """Facts of the cases ``ids``, loaded in four statements."""
    cases = {
        r.id: CaseRow(r.id, r.territory_code, r.category_id, str(r.level))
        for r in db.execute(
            select(Case.id, Case.territory_code, Case.category_id, Case.level).where(
                Case.id.in_(ids)
            )
        )
    }
    events: dict[int, list[EventRow]] = {i: [] for i in ids}
    for r in db.execute(
        select(
            CaseEvent.case_id,
            CaseEvent.at,
            CaseEvent.action,
            CaseEvent.from_state,
            CaseEvent.actor_id,
            CaseEvent.data,
        )
        .where(CaseEvent.case_id.in_(ids))
        .order_by(CaseEvent.case_id, CaseEvent.id)
    ):
        events[r.case_id].append(
            EventRow(
                r.case_id,
                r.at,
                str(r.action),
                str(r.from_state) if r.from_state else None,
                r.actor_id,
                r.data or {},
            )
        )
    clocks: dict[int, list[ClockRow]] = {i: [] for i in ids}
    for c in db.execute(
        select(
            CaseClock.case_id,
            CaseClock.stage,
            CaseClock.started_at,
            CaseClock.due_at,
            CaseClock.finished_at,
            CaseClock.unit,
        )
        .where(CaseClock.case_id.in_(ids))
        .order_by(CaseClock.id)
    ):
        clocks[c.case_id].append(
            ClockRow(c.case_id, str(c.stage), c.started_at, c.due_at, c.finished_at, str(c.unit))
        )
    summons: dict[int, list[SummonsRow]] = {i: [] for i in ids}
    for s in db.execute(
        select(
            CaseSummons.case_id,
            CaseSummons.department_code,
            CaseSummons.due_at,
            CaseSummons.acknowledged_at,
        ).where(CaseSummons.case_id.in_(ids))
    ):
        summons[s.case_id].append(SummonsRow(*s))
    for case_id, case in cases.items():
        yield from case_facts(
            case, events[case_id], clocks[case_id], summons[case_id], calendar, now
        )


def snapshot_counts(db: Session, unit: Unit, period: Period, *, now: datetime) -> Counter[str]:
    """Open cases by light at the period's end (or now, for a period not over)."""
    _, end = period.bounds(tz())
    at = min(end, now)
    q = (
        select(CaseClock, Case.territory_code, Case.department_code)
        .join(Case, Case.id == CaseClock.case_id)
        .where(
            CaseClock.started_at < at,
            or_(CaseClock.finished_at.is_(None), CaseClock.finished_at > at),
        )
    )
    territory = _case_territory(unit)
    if territory is not None:
        q = q.where(territory)
    elif unit.kind == "department":
        q = q.where(Case.department_code == unit.code)
    else:
        return Counter()
    calendar = get_calendar(db)
    counts: Counter[str] = Counter()
    for clock, _territory, _dept in db.execute(q):
        row = ClockRow(
            clock.case_id,
            str(clock.stage),
            clock.started_at,
            clock.due_at,
            clock.finished_at,
            str(clock.unit),
        )
        light = light_at(calendar, row, at)
        if light is not None:
            counts["open"] += 1
            counts[f"open_{light.value}"] += 1
    return counts
