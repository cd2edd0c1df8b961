"""Figures: compute indicators for a unit and a period, from the rollups or the raw events.

``compute`` is the interface other domains use (the quarterly appraisal of workforce)::

    compute(db, unit_kind="township", unit_code="441900101", period=Period.parse("2026-Q4"))

Facts dated before the rollups' ``built_until`` are read from ``figure_counts`` (the whole
months of a township or above, or of a department, from ``figure_month_counts``); later ones
(today, and deadlines still ahead) are derived from the raw events, so a figure is never stale.
``compute_each`` counts several units of one kind (children, departments) in the same
statements as one.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.calendar.units import Light, TimeUnit
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
)
from civgrid.figures.indicators import CLOSE_HOURS_PREFIX, INDICATORS, Indicator
from civgrid.figures.models import FigureBuild, FigureCount, FigureMonthCount
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
    return compute_each(db, [unit], period, codes=codes, source=source, now=now)[unit.code]


def compute_each(
    db: Session,
    units: Sequence[Unit],
    period: Period,
    *,
    codes: Sequence[str] | None = None,
    source: str = "auto",
    now: datetime | None = None,
) -> dict[str, dict[str, IndicatorValue]]:
    """``compute`` for several units of one kind (a unit's children, departments to rank), by
    code, counted together: the same statements as for one of them."""
    indicators = check_codes(codes)
    now = now or utcnow()
    units = list(units)
    if not units:
        return {}
    counts = part_counts(db, units, period, source=source, now=now)
    if any(i.kind == "snapshot" for i in indicators):
        for code, snapshot in snapshot_counts(db, units, period, now=now).items():
            counts[code].update(snapshot)
    return {u.code: {i.code: evaluate(i, counts[u.code]) for i in indicators} for u in units}


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


Counts = defaultdict[str, Counter[str]]


def part_counts(
    db: Session, units: Sequence[Unit], period: Period, *, source: str = "auto", now: datetime
) -> Counts:
    """Counts of every part for each unit (by code) over the period: rollups up to their
    build, raw after."""
    counts: Counts = defaultdict(Counter)
    rows = Rows.of(units)
    first, last = period.first, period.last
    until = built_until(db) if source == "auto" else None
    if until is not None and first < until:
        rolled_last = min(last, date.fromordinal(until.toordinal() - 1))
        _add(counts, rollup_counts(db, rows, first, rolled_last))
        first = until
    if first <= last:
        _add(counts, raw_counts(db, rows, first, last, now=now))
    return counts


def _add(counts: Counts, more: Counts) -> None:
    for code, c in more.items():
        counts[code].update(c)


@dataclass(frozen=True)
class Rows:
    """Which rows belong to which of some units of one kind: one statement groups them all.

    Territories are matched by code prefix (a grid by its code), so children of one unit are
    found under their common prefix and grouped by the first ``length`` characters of the
    territory code; departments by code; a worker by id.
    """

    kind: str
    codes: tuple[str, ...]
    worker_id: int = 0

    @classmethod
    def of(cls, units: Sequence[Unit]) -> Rows:
        kinds = {u.kind for u in units}
        if len(kinds) != 1 or (units[0].kind == "worker" and len(units) > 1):
            raise ValueError("units counted together are of one kind (one worker)")
        return cls(units[0].kind, tuple(u.code for u in units), units[0].worker_id)

    @property
    def length(self) -> int | None:
        return UNIT_KINDS[self.kind]

    @property
    def monthly(self) -> bool:
        """Whether the month rollups hold these units (a township or above, a department)."""
        return self.kind == "department" or (self.length or 99) <= 9

    def match(
        self,
        territory: InstrumentedAttribute[Any],
        department: InstrumentedAttribute[Any],
        worker: InstrumentedAttribute[Any] | None = None,
    ) -> tuple[Any, ColumnElement[bool]]:
        """(each row's unit code, which rows count) over these columns of a table."""
        if self.kind == "department":
            return department, department.in_(self.codes)
        if self.kind == "worker":
            if worker is None:
                return literal(self.codes[0]), false()
            return literal(self.codes[0]), worker == self.worker_id
        if self.kind == "grid":
            return territory, territory.in_(self.codes)
        prefix = os.path.commonprefix(self.codes)
        key = func.substr(territory, 1, self.length)
        return key, territory.startswith(prefix, autoescape=True)

    def fact_key(self, f: Fact) -> str | None:
        """The unit a fact counts for (None: none of them)."""
        if self.kind == "department":
            code = f.department_code
        elif self.kind == "worker":
            return self.codes[0] if f.worker_id == self.worker_id else None
        elif self.kind == "grid":
            code = f.territory_code
        else:
            code = f.territory_code[: self.length]
        return code if code in self.codes else None


def rollup_counts(db: Session, rows: Rows, first: date, last: date) -> Counts:
    """Counts from the rollups of the local days first..last: whole months from the month
    rows where they hold the units, the other days from the daily rows."""
    counts: Counts = defaultdict(Counter)
    months, days = split_months(first, last) if rows.monthly else (None, [(first, last)])
    if months is not None:
        m = FigureMonthCount
        key, where = rows.match(m.township_code, m.department_code)
        q = select(key, m.part, func.sum(m.n)).where(
            where, m.month >= months[0], m.month <= months[1]
        )
        _add(counts, _grouped(db, q.group_by(key, m.part)))
    if days:
        d = FigureCount
        key, where = rows.match(d.territory_code, d.department_code, d.worker_id)
        spans = or_(*(and_(d.day >= a, d.day <= b) for a, b in days))
        q = select(key, d.part, func.sum(d.n)).where(where, spans).group_by(key, d.part)
        _add(counts, _grouped(db, q))
    return counts


def _grouped(db: Session, q: Select[Any]) -> Counts:
    counts: Counts = defaultdict(Counter)
    for code, part, n in db.execute(q):
        counts[code][part] += int(n)
    return counts


def split_months(
    first: date, last: date
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The whole months in first..last (the first days of the first and the last of them, or
    None) and the days outside them, as inclusive ranges."""
    start = first if first.day == 1 else _next_month(first)
    after = _next_month(last)
    end = after if last == after - timedelta(days=1) else last.replace(day=1)
    if start >= end:
        return None, [(first, last)]
    days = []
    if first < start:
        days.append((first, start - timedelta(days=1)))
    if end <= last:
        days.append((end, last))
    return (start, _previous_month(end)), days


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def raw_counts(db: Session, rows: Rows, first: date, last: date, *, now: datetime) -> Counts:
    """Counts of the units' facts dated on the local days first..last, from the raw log."""
    zone = tz()
    start, end = day_start(first, zone), day_start(date.fromordinal(last.toordinal() + 1), zone)
    counts: Counts = defaultdict(Counter)
    territory = _case_territory(rows)
    for f in facts_between(db, start, end, now=now, territory=territory):
        code = rows.fact_key(f) if start <= f.at < end else None
        if code is not None:
            counts[code][f.part] += 1
    for f in inspection_facts_between(db, start, end, rows=rows):
        code = rows.fact_key(f)
        if code is not None:
            counts[code][f.part] += 1
    return counts


def inspection_facts_between(
    db: Session, start: datetime | None, end: datetime, *, rows: Rows | None = None
) -> Iterator[Fact]:
    """Facts of the inspections done in [start, end) (before end for None), of the records
    of the units ``rows`` (every record for None)."""
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
    if rows is not None and rows.kind == "department":
        return  # inspections count for territories and workers only
    if rows is not None:
        record = InspectionRecord
        q = q.where(rows.match(record.grid_code, record.grid_code, record.inspector_id)[1])
    for row in db.execute(q.order_by(InspectionRecord.id)):
        yield from inspection_facts(InspectionRow(*row))


def _case_territory(rows: Rows) -> ColumnElement[bool] | None:
    """Which cases' facts may count for territories (None: any case's, for other units)."""
    if rows.kind in TERRITORIAL:
        return rows.match(Case.territory_code, Case.department_code)[1]
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
    for case_id, row in cases.items():
        yield from case_facts(
            row, events[case_id], clocks[case_id], summons[case_id], calendar, now
        )


def snapshot_counts(db: Session, units: Sequence[Unit], period: Period, *, now: datetime) -> Counts:
    """Open cases by light at the period's end (or now, for a period not over), by unit.

    A stage clock running at that instant is red past its deadline, yellow from the instant
    80 % of its limit is used (``yellow_at``), green before: the desk's definition
    (civgrid.desk.service.light_of), in SQL. Clocks finished before migration 0023 have no
    ``yellow_at``: the calendar gives it for the few that are neither red nor green by then.
    """
    rows = Rows.of(units)
    counts: Counts = defaultdict(Counter)
    if rows.kind == "worker":
        return counts
    _, end = period.bounds(tz())
    at = min(end, now)
    key, where = rows.match(Case.territory_code, Case.department_code)
    c = CaseClock
    light = case(
        (c.due_at < at, literal(Light.RED.value)),
        (c.yellow_at <= at, literal(Light.YELLOW.value)),
        (c.yellow_at.is_not(None), literal(Light.GREEN.value)),
        else_=null(),
    )
    running = (
        select(key.label("code"), light.label("light"), c.id.label("clock_id"))
        .join(Case, Case.id == c.case_id)
        .where(_running_at(db, at), where)
    )
    lights = running.subquery()
    q = select(lights.c.code, lights.c.light, func.count()).group_by(lights.c.code, lights.c.light)
    unknown = 0
    for code, colour, n in db.execute(q):
        if colour is None:
            unknown += n
            continue
        counts[code]["open"] += n
        counts[code][f"open_{colour}"] += n
    if unknown:
        _add(counts, _lights_from_calendar(db, lights, at))
    return counts


def _running_at(db: Session, at: datetime) -> ColumnElement[bool]:
    """Stage clocks started before ``at`` and not finished by then.

    On PostgreSQL as a time range containing the instant, which the GiST index
    ``ix_case_clocks_running`` (migration 0024) answers without reading every clock.
    """
    c = CaseClock
    if db.get_bind().dialect.name == "postgresql":
        span = func.tstzrange(c.started_at, c.finished_at, literal_column("'()'"))
        return span.op("@>")(literal(at, type_=c.started_at.type))
    return and_(c.started_at < at, or_(c.finished_at.is_(None), c.finished_at > at))


def _lights_from_calendar(db: Session, lights: Subquery, at: datetime) -> Counts:
    """The lights of running clocks without ``yellow_at``, from the working calendar."""
    calendar = get_calendar(db)
    c = CaseClock
    q = select(lights.c.code, c.started_at, c.due_at, c.unit).join(c, c.id == lights.c.clock_id)
    counts: Counts = defaultdict(Counter)
    for code, started_at, due_at, unit in db.execute(q.where(lights.c.light.is_(None))):
        yellow = calendar.turns_yellow(started_at, due_at, TimeUnit(unit))
        colour = Light.RED if due_at < at else Light.YELLOW if yellow <= at else Light.GREEN
        counts[code]["open"] += 1
        counts[code][f"open_{colour.value}"] += 1
    return counts
