"""Build the rollups (figure_counts) from the case log and the inspection records: from
scratch, since a day, or onwards.

The rollups are derived data: every count is the number of facts (``civgrid.figures.facts``)
of one part on one local day for one territory × department × category × worker. They hold
the days before ``built_until``; ``compute`` derives later days from the raw log, so a stale
build is never wrong, only slower.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civgrid.calendar.service import get_calendar
from civgrid.cases.models import Case
from civgrid.db.base import utcnow
from civgrid.figures.facts import Fact
from civgrid.figures.models import FigureBuild, FigureCount
from civgrid.figures.service import (
    built_until,
    day_start,
    facts_of_cases,
    inspection_facts_between,
    touched_cases,
    tz,
)

Key = tuple[date, str, str, int, int, str]
KEY_COLUMNS = ("day", "territory_code", "department_code", "category_id", "worker_id", "part")
BATCH = 5000


@dataclass(frozen=True)
class Built:
    since: date | None
    until: date
    cases: int
    rows: int


def rebuild(db: Session, *, since: date | None = None, now: datetime | None = None) -> Built:
    """Recompute the rollups of the local days from ``since`` (all days when None) to today."""
    now = now or utcnow()
    zone = tz()
    until = now.astimezone(zone).date()
    stale = delete(FigureCount)
    if since is not None:
        stale = stale.where(FigureCount.day >= since)
    db.execute(stale)
    if since is None:
        ids = list(db.scalars(select(Case.id).order_by(Case.id)))
    else:
        ids = touched_cases(db, day_start(since, zone), day_start(until, zone))
    calendar = get_calendar(db)
    rows = 0
    for i in range(0, len(ids), BATCH):
        counts = _aggregate(
            facts_of_cases(db, ids[i : i + BATCH], calendar, now), since, until, zone
        )
        rows += _upsert(db, counts)
    start = day_start(since, zone) if since is not None else None
    inspections = inspection_facts_between(db, start, day_start(until, zone))
    rows += _upsert(db, _aggregate(inspections, since, until, zone))
    db.add(FigureBuild(built_until=until, built_at=now))
    db.commit()
    return Built(since, until, len(ids), rows)


def refresh(db: Session, *, now: datetime | None = None) -> Built:
    """Bring the rollups up to today: rebuild from the last build's day (all if never built)."""
    last = built_until(db)
    return rebuild(db, since=last - timedelta(days=1) if last else None, now=now)


def _aggregate(facts: Iterable[Fact], since: date | None, until: date, zone) -> Counter[Key]:  # type: ignore[no-untyped-def]
    counts: Counter[Key] = Counter()
    for f in facts:
        day = f.at.astimezone(zone).date()
        if day >= until or (since is not None and day < since):
            continue
        counts[(day, f.territory_code, f.department_code, f.category_id, f.worker_id, f.part)] += 1
    return counts


def _upsert(db: Session, counts: Counter[Key]) -> int:
    """Add the counts to figure_counts: one statement, executed for many rows."""
    if not counts:
        return 0
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Table = FigureCount.__table__  # type: ignore[assignment]
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS), set_={"n": table.c.n + stmt.excluded.n}
    )
    rows = [
        {**dict(zip(KEY_COLUMNS, k, strict=True)), "n": n, "total": 0.0} for k, n in counts.items()
    ]
    for i in range(0, len(rows), 10_000):
        db.execute(stmt, rows[i : i + 10_000])
    return len(rows)


def rollup_size(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(FigureCount)) or 0
