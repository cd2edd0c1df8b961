"""Reads of the raw log: the facts of cases (events, clocks, summons) and of inspections,
derived where the rollups do not hold them (today, deadlines still ahead) or on request."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from civgrid.calendar.service import get_calendar
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseSummons
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
from civgrid.figures.periods import day_start, tz
from civgrid.figures.units import TERRITORIAL, Counts, Rows
from civgrid.inspections.models import InspectionRecord, InspectionResult

CHUNK = 2000


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
