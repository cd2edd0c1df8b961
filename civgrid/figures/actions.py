"""Build the rollups (figure_counts, and their sums per month figure_month_counts) from the
case log and the inspection records: from scratch, since a day, or onwards.

The rollups are derived data: every count is the number of facts (``civgrid.figures.facts``)
of one part on one local day for one territory × department × category × worker. They hold
the days before ``built_until``; ``compute`` derives later days from the raw log, so a stale
build is never wrong, only slower.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Table, cast, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import Date

from civgrid.calendar.service import get_calendar
from civgrid.cases.models import Case
from civgrid.db.base import utcnow
from civgrid.figures import rollup_sql
from civgrid.figures.facts import Fact
from civgrid.figures.models import KEY_COLUMNS, FigureBuild, FigureCount, FigureMonthCount
from civgrid.figures.periods import day_start, tz
from civgrid.figures.raw import facts_of_cases, inspection_facts_between, touched_cases
from civgrid.figures.rollups import built_until

Key = tuple[date, str, str, int, int, str]
BATCH = 5000
# Cases per SQL statement: an id range on a full rebuild (a tenth on SQLite), an id list since
# a day.
ID_RANGE = 500_000
ID_LIST = 10_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Built:
    since: date | None
    until: date
    cases: int
    rows: int


def rebuild(
    db: Session,
    *,
    since: date | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    engine: str = "sql",
) -> Built:
    """Recompute the rollups of the local days from ``since`` (all days when None) to today.

    ``engine`` "sql" counts most cases in set-based SQL (``rollup_sql``), "python" counts every
    case with ``case_facts`` (the definition; slow). ``progress(done, total)`` follows the chunks.
    """
    now = now or utcnow()
    zone = tz()
    until = now.astimezone(zone).date()
    truncate = since is None and rollup_sql.may_truncate(db)
    if truncate:
        # From scratch: a truncated table, not millions of dead rows for every insert to
        # step over. Readers wait for the rebuild's commit.
        db.execute(text("TRUNCATE figure_counts"))
    else:
        stale = delete(FigureCount)
        if since is not None:
            stale = stale.where(FigureCount.day >= since)
        db.execute(stale)
    start = day_start(since, zone) if since is not None else None
    end = day_start(until, zone)
    if engine == "python":
        cases, rows = _rebuild_python(db, since, until, now)
    else:
        cases, rows = _rebuild_sql(db, since, until, now, progress, truncated=truncate)
    inspections = inspection_facts_between(db, start, end)
    rows += _upsert(db, _aggregate(inspections, since, until, zone))
    derive_months(db, since)
    db.add(FigureBuild(built_until=until, built_at=now))
    db.commit()
    return Built(since, until, cases, rows)


def _case_ids(db: Session, since: date | None, until: date) -> list[int]:
    if since is None:
        return list(db.scalars(select(Case.id).order_by(Case.id)))
    zone = tz()
    return touched_cases(db, day_start(since, zone), day_start(until, zone))


def _rebuild_python(db: Session, since: date | None, until: date, now: datetime) -> tuple[int, int]:
    ids = _case_ids(db, since, until)
    calendar = get_calendar(db)
    rows = 0
    for i in range(0, len(ids), BATCH):
        facts = facts_of_cases(db, ids[i : i + BATCH], calendar, now)
        rows += _upsert(db, _aggregate(facts, since, until, tz()))
    return len(ids), rows


def _scopes(
    db: Session, dialect: rollup_sql.Dialect, since: date | None, until: date
) -> list[rollup_sql.Scope]:
    """The chunks of cases: id ranges for a full rebuild, lists of touched ids since a day."""
    if since is not None:
        ids = _case_ids(db, since, until)
        return [
            rollup_sql.Scope(dialect, ids=ids[i : i + ID_LIST]) for i in range(0, len(ids), ID_LIST)
        ]
    lo, hi = db.execute(select(func.min(Case.id), func.max(Case.id))).one()
    if lo is None:
        return []
    step = ID_RANGE if dialect.name == "postgresql" else ID_RANGE // 10
    return [rollup_sql.Scope(dialect, lo=a, hi=a + step) for a in range(lo, hi + 1, step)]


def _rebuild_sql(
    db: Session,
    since: date | None,
    until: date,
    now: datetime,
    progress: Progress | None,
    *,
    truncated: bool,
) -> tuple[int, int]:
    zone = tz()
    first, last = rollup_sql.data_span(db, zone, until)
    dialect = rollup_sql.dialect_for(db, zone, first, last)
    calendar = get_calendar(db)
    rollup_sql.make_windows(db, calendar, first, last)
    rollup_sql.make_staging(db)
    if dialect.name == "postgresql":
        # The chunks' CTEs have no statistics: nested loops over them would be quadratic.
        db.execute(text("SET LOCAL work_mem = '256MB'"))
        db.execute(text("SET LOCAL enable_nestloop = off"))
        db.execute(text("SET LOCAL jit = off"))  # compiling the big statement costs more
    start = day_start(since, zone) if since is not None else datetime(1970, 1, 1, tzinfo=UTC)
    end = day_start(until, zone)
    scopes = _scopes(db, dialect, since, until)
    cases = 0
    for done, scope in enumerate(scopes, 1):
        odd = rollup_sql.python_cases(db, scope)
        if odd:
            counts = _aggregate(facts_of_cases(db, odd, calendar, now), since, until, zone)
            rollup_sql.stage(db, _rows(counts))
        db.execute(
            rollup_sql.rollup_statement(scope, python_ids=odd),
            {"start": start, "end": end, "now": now},
        )
        cases += len(scope.ids) if scope.ids is not None else _count(db, scope)
        if progress is not None:
            progress(done, len(scopes))
    rows = rollup_sql.unstage(db, empty=truncated)
    if dialect.name == "postgresql":
        db.execute(text("SET LOCAL enable_nestloop = on"))
        db.execute(text("RESET jit"))
    return cases, rows


def _count(db: Session, scope: rollup_sql.Scope) -> int:
    q = select(func.count()).select_from(Case).where(Case.id >= scope.lo, Case.id < scope.hi)
    return db.scalar(q) or 0


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


def _rows(counts: Counter[Key]) -> list[dict[str, object]]:
    """The counts as rows of figure_counts' key and ``n``."""
    return [{**dict(zip(KEY_COLUMNS, k, strict=True)), "n": n} for k, n in counts.items()]


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
    rows = [{**row, "total": 0.0} for row in _rows(counts)]
    for i in range(0, len(rows), 10_000):
        db.execute(stmt, rows[i : i + 10_000])
    return len(rows)


def derive_months(db: Session, since: date | None) -> None:
    """Sum the daily rows into figure_month_counts: every month (None), or the months from
    ``since``'s on (their daily rows were just rebuilt)."""
    stale = delete(FigureMonthCount)
    days = select(FigureCount)
    if since is not None:
        start = since.replace(day=1)
        stale = stale.where(FigureMonthCount.month >= start)
        days = days.where(FigureCount.day >= start)
    db.execute(stale)
    month = _month_of(db, FigureCount.day)
    township = func.substr(FigureCount.territory_code, 1, 9)
    keys = (month, township, FigureCount.department_code, FigureCount.category_id, FigureCount.part)
    sums = days.with_only_columns(*keys, func.sum(FigureCount.n), func.sum(FigureCount.total))
    columns = ("month", "township_code", "department_code", "category_id", "part", "n", "total")
    db.execute(insert(FigureMonthCount).from_select(columns, sums.group_by(*keys)))


def _month_of(db: Session, day: InstrumentedAttribute[date]) -> ColumnElement[date]:
    """The first day of ``day``'s month, in SQL."""
    if db.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("month", day), Date)
    return func.date(day, "start of month", type_=Date)


def rollup_size(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(FigureCount)) or 0
