"""The rollups' daily counts computed in set-based SQL, on PostgreSQL and SQLite.

:func:`civgrid.figures.facts.case_facts` stays the definition of every fact; this module
computes the same facts, counted per local day × territory × department × category × worker ×
part, with one ``INSERT … SELECT … GROUP BY`` per chunk of cases into a temporary staging
table, summed into ``figure_counts`` once at the end (:func:`unstage`).

Which cases take which path:

- **Python** (``case_facts``, per case): the cases whose log has an ``approve_extension`` event
  (their deadlines are replayed by ``effective_due``), an ``escalate`` event without
  ``to_level``, or an event dated before the event logged ahead of it (the department at an
  instant is the last dispatch *at or before* it, which SQL reads in time order).
- **SQL**: every other case. Its facts are read from one pass over the case's events and
  handle clocks in time order (dispatches first among events of one instant): the department
  at each instant is the latest dispatch's, the level is the latest escalation's ``to_level``
  (before any, the first escalation's ``from_level``, else the case's level).

Working time for ``close_h<N>`` is W(close) − W(report), W being the cumulative working seconds
at an instant, read from a temporary table of the working periods (UTC epoch seconds) of every
local day the data spans, made in Python from the working calendar.

Dialect differences are a handful of expressions (:data:`_PG`, :data:`_SQLITE`): JSON fields,
epoch seconds, padded ids, rounding up, and the local day (``AT TIME ZONE`` on PostgreSQL; on
SQLite the zone's UTC offsets over the data's span, found in Python, in a ``CASE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    TextClause,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from civgrid.calendar.workcalendar import WorkCalendar
from civgrid.cases.models import CaseEvent
from civgrid.db.base import UTCDateTime
from civgrid.figures.facts import COMPLETES, LOW_LEVELS
from civgrid.figures.indicators import CLOSE_HOURS_PREFIX
from civgrid.figures.models import KEY_COLUMNS, FigureCount

WINDOWS = Table(
    "figure_windows",
    MetaData(),
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("cum_end", Float, nullable=False),
    Index("ix_figure_windows_start_s", "start_s"),
    prefixes=["TEMPORARY"],
)

# The chunks' counts, summed into figure_counts at the end: one insert of unique keys, no
# conflicts to resolve against the rows the rebuild has just deleted.
STAGING = Table(
    "figure_staging",
    MetaData(),
    *(Column(name, FigureCount.__table__.c[name].type, nullable=False) for name in KEY_COLUMNS),
    Column("n", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
KEY = ", ".join(KEY_COLUMNS)

_PG = {
    "json": "({col} ->> '{key}')",
    "pad": "lpad(CAST({x} AS text), 12, '0')",
    "epoch": "CAST(EXTRACT(EPOCH FROM {x}) AS double precision)",
    "ceil6": "CAST(CEIL(ROUND(CAST({x} AS numeric), 6)) AS integer)",
}
_SQLITE = {
    "json": "json_extract({col}, '$.{key}')",
    "pad": "substr('000000000000' || {x}, -12)",
    "epoch": "((julianday({x}) - 2440587.5) * 86400.0)",
    "ceil6": "(CAST(ROUND({x}, 6) AS INTEGER) + (ROUND({x}, 6) > CAST(ROUND({x}, 6) AS INTEGER)))",
}


@dataclass(frozen=True)
class Dialect:
    """The expressions that differ between PostgreSQL and SQLite."""

    name: str
    zone: ZoneInfo
    offsets: tuple[tuple[datetime | None, int], ...]  # SQLite: (from instant, UTC offset s)

    def _form(self, key: str) -> str:
        return (_PG if self.name == "postgresql" else _SQLITE)[key]

    def json(self, col: str, key: str) -> str:
        return self._form("json").format(col=col, key=key)

    def pad(self, x: str) -> str:
        return self._form("pad").format(x=x)

    def epoch(self, x: str) -> str:
        return self._form("epoch").format(x=x)

    def ceil6(self, x: str) -> str:
        return self._form("ceil6").format(x=x)

    def local_day(self, x: str) -> str:
        if self.name == "postgresql":
            if not all(ch.isalnum() or ch in "_/+-" for ch in self.zone.key):
                raise ValueError(f"unexpected time zone name {self.zone.key!r}")
            return f"CAST(({x} AT TIME ZONE '{self.zone.key}') AS date)"
        branches = [
            f"WHEN {x} >= '{since:%Y-%m-%d %H:%M:%S.%f}' THEN date({x}, '{offset:+d} seconds')"
            for since, offset in reversed(self.offsets)
            if since is not None
        ]
        first = f"date({x}, '{self.offsets[0][1]:+d} seconds')"
        return f"(CASE {' '.join(branches)} ELSE {first} END)" if branches else first


def zone_offsets(
    zone: ZoneInfo, first: date, last: date
) -> tuple[tuple[datetime | None, int], ...]:
    """The zone's UTC offsets from ``first`` to ``last``: (instant it starts, seconds)."""
    at = datetime.combine(first - timedelta(days=2), datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC)
    step = timedelta(minutes=15)

    def offset(t: datetime) -> int:
        return int((t.astimezone(zone).utcoffset() or timedelta()).total_seconds())

    out: list[tuple[datetime | None, int]] = [(None, offset(at))]
    while at < end:
        nxt = at + step
        if offset(nxt) != out[-1][1]:
            lo, hi = at, nxt  # the change lies in (lo, hi]: find its second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (lo, mid) if offset(mid) != out[-1][1] else (mid, hi)
            out.append((hi.replace(tzinfo=None), offset(hi)))
        at = nxt
    return tuple(out)


def dialect_for(db: Session, zone: ZoneInfo, first: date, last: date) -> Dialect:
    name = db.get_bind().dialect.name
    offsets = zone_offsets(zone, first, last) if name == "sqlite" else ()
    return Dialect(name, zone, offsets)


def data_span(db: Session, zone: ZoneInfo, until: date) -> tuple[date, date]:
    """The local days from the first event to ``until``."""
    first = db.scalar(select(func.min(CaseEvent.at)))
    start = first.astimezone(zone).date() if first else until
    return min(start, until), until


def make_windows(db: Session, calendar: WorkCalendar, first: date, last: date) -> None:
    """Fill the temporary table of working periods (epoch seconds, cumulative working time)."""
    db.execute(text("DROP TABLE IF EXISTS figure_windows"))
    WINDOWS.create(db.connection())
    rows, total, day = [], 0.0, first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        for a, b in calendar.windows(day):
            total += (b - a).total_seconds()
            rows.append({"start_s": a.timestamp(), "end_s": b.timestamp(), "cum_end": total})
        day += timedelta(days=1)
    if rows:
        db.execute(insert(WINDOWS), rows)


def may_truncate(db: Session) -> bool:
    """Whether this role may truncate figure_counts and rebuild its indexes (PostgreSQL, as
    the table's owner: the migrating role, not the application's)."""
    if db.get_bind().dialect.name != "postgresql":
        return False
    owner = "SELECT tableowner FROM pg_tables WHERE tablename = 'figure_counts'"
    q = f"SELECT pg_has_role(({owner} AND schemaname = current_schema()), 'USAGE')"
    return bool(db.scalar(text(q)))  # noqa: S608  (constants)


def make_staging(db: Session) -> None:
    db.execute(text("DROP TABLE IF EXISTS figure_staging"))
    STAGING.create(db.connection())


def stage(db: Session, rows: list[dict[str, object]]) -> None:
    """Stage counts computed in Python (the cases ``case_facts`` counts)."""
    if rows:
        db.execute(insert(STAGING), rows)


def unstage(db: Session, *, empty: bool = False) -> int:
    """Sum the staged counts into figure_counts (its days ahead of ``since`` are empty).

    ``empty``: the table was truncated, so its secondary indexes are dropped and built again
    after the rows are in (a sort per index, not millions of scattered index inserts).
    """
    table: Table = FigureCount.__table__  # type: ignore[assignment]
    indexes = list(table.indexes) if empty else []
    for index in indexes:
        index.drop(db.connection())
    result = db.execute(
        text(
            f"INSERT INTO figure_counts ({KEY}, n, total) "  # noqa: S608  (constants)
            f"SELECT {KEY}, SUM(n), 0.0 FROM figure_staging GROUP BY {KEY} ORDER BY {KEY}"
        )
    )
    for index in indexes:
        index.create(db.connection())
    db.execute(text("DROP TABLE IF EXISTS figure_staging"))
    db.execute(text("DROP TABLE IF EXISTS figure_windows"))
    return max(result.rowcount, 0)  # type: ignore[attr-defined]


def python_cases(db: Session, scope: Scope) -> list[int]:
    """The cases of the scope whose facts ``case_facts`` computes (module docstring)."""
    d = scope.dialect
    sql = f"""
        SELECT DISTINCT case_id FROM (
          SELECT case_id, action, at,
                 LAG(at) OVER (PARTITION BY case_id ORDER BY id) AS before,
                 CASE WHEN action = 'escalate' THEN {d.json("data", "to_level")} END AS to_level
          FROM case_events WHERE {scope.where("case_id")}
        ) s
        WHERE action = 'approve_extension' OR before > at
           OR (action = 'escalate' AND to_level IS NULL)
        ORDER BY case_id
    """  # noqa: S608  (the code's constants only, no user text)
    return list(db.scalars(scope.bind(text(sql))))


@dataclass(frozen=True)
class Scope:
    """The cases of one statement: an id range [lo, hi), or a list of ids."""

    dialect: Dialect
    lo: int = 0
    hi: int = 0
    ids: Sequence[int] | None = None

    def where(self, column: str) -> str:
        if self.ids is not None:
            return f"{column} IN :ids"
        return f"{column} >= :lo AND {column} < :hi"

    def bind(self, clause: TextClause) -> TextClause:
        if self.ids is not None:
            return clause.bindparams(bindparam("ids", list(self.ids), expanding=True))
        return clause.bindparams(lo=self.lo, hi=self.hi)


def _values(rows: Sequence[tuple[str, ...]]) -> str:
    return ", ".join("(" + ", ".join(f"'{v}'" for v in row) + ")" for row in rows)


# Facts of events: action, part, department ("dept" or ""), worker (reporter, actor, closer).
EVENT_PARTS = [
    ("report", "reported", "", "reporter"),
    ("register", "valid", "", "reporter"),
    ("register", "registered", "", ""),
    ("register", "registered_on_time", "", ""),
    ("void", "voided", "", ""),
    ("dispatch", "dispatched", "dept", ""),
    ("dispatch", "dispatched_on_time", "dept", ""),
    ("verify_fail", "reworked", "dept", "actor"),
    ("self_handle", "valid", "", "reporter"),
    *[
        (action, part, "dept", "closer")
        for action in ("close", "self_handle")
        for part in ("should_close", "closed", "closed_on_time", "closed_low", CLOSE_HOURS_PREFIX)
    ],
    ("evaluate", "rated", "dept", ""),
    ("evaluate", "satisfied", "dept", ""),
]
# Facts of clocks, dated at the deadline (``_clock_facts``).
CLOCK_PARTS = [
    ("handle", "should_handle"),
    ("handle", "handled_on_time"),
    ("handle", "overdue"),
    ("handle", "should_close"),
    ("verify", "should_verify"),
    ("verify", "verified_on_time"),
    *[(stage, "overdue") for stage in ("register", "dispatch", "verify", "close")],
]


def _completes() -> str:
    return " OR ".join(
        f"(stage = '{stage}' AND last_action IN ({', '.join(repr(a) for a in sorted(actions))}))"
        for stage, actions in COMPLETES.items()
    )


def rollup_statement(scope: Scope, *, python_ids: Sequence[int]) -> TextClause:
    """Stage the counts of the facts, dated in [:start, :end), of the scope's SQL cases."""
    d = scope.dialect
    W = """COALESCE((SELECT CASE WHEN {x} >= w.end_s THEN w.cum_end
                                  ELSE w.cum_end - (w.end_s - {x}) END
                      FROM figure_windows w WHERE w.start_s <= {x}
                      ORDER BY w.start_s DESC LIMIT 1), 0)"""
    close_s = W.format(x=d.epoch("f.at"))
    report_s = W.format(x=d.epoch("f.report_at"))
    hours = d.ceil6(f"(({close_s}) - ({report_s})) / 3600.0")
    low = ", ".join(f"'{v}'" for v in sorted(LOW_LEVELS))
    sql = f"""
    WITH
    part_map(action, part, with_dept, worker) AS (VALUES {_values(EVENT_PARTS)}),
    clock_map(stage, part) AS (VALUES {_values(CLOCK_PARTS)}),
    sm AS (
      SELECT case_id, due_at, acknowledged_at, department_code FROM case_summons
      WHERE {scope.where("case_id")} AND case_id NOT IN :python_ids
        AND due_at >= :start AND due_at < :end
    ),
    ev AS (
      SELECT case_id, id, at, action, from_state, COALESCE(actor_id, 0) AS actor,
             CASE WHEN action = 'dispatch'
                  THEN COALESCE({d.json("data", "department")}, '') END AS dispatched_to,
             CASE WHEN action = 'escalate' THEN {d.json("data", "to_level")} END AS to_level,
             CASE WHEN action = 'escalate'
                  THEN COALESCE({d.json("data", "from_level")}, '') END AS from_level,
             CASE WHEN action = 'evaluate'
                  THEN CAST({d.json("data", "rating")} AS integer) END AS rating
      FROM case_events
      WHERE {scope.where("case_id")} AND case_id NOT IN :python_ids
    ),
    cs AS (
      SELECT id, territory_code, category_id, level FROM cases WHERE {scope.where("id")}
    ),
    ck AS (
      SELECT id, case_id, stage, started_at, due_at, finished_at
      FROM case_clocks
      WHERE {scope.where("case_id")} AND case_id NOT IN :python_ids
    ),
    stream AS (
      SELECT case_id, id, at, action, from_state, actor, dispatched_to, to_level, from_level,
             rating, CASE WHEN action = 'dispatch' THEN 0 ELSE 1 END AS kind
      FROM ev
      UNION ALL
      SELECT case_id, id, started_at, 'clock', NULL, 0, NULL, NULL, NULL, NULL, 1
      FROM ck WHERE stage = 'handle'
    ),
    walked AS (
      SELECT s.*,
             substr(MAX(CASE WHEN action = 'dispatch' THEN {d.pad("id")} || dispatched_to END)
                    OVER w, 13) AS dept,
             substr(MAX(CASE WHEN action = 'escalate' THEN {d.pad("id")} || to_level END)
                    OVER w, 13) AS level_now,
             substr(MIN(CASE WHEN action = 'escalate' THEN {d.pad("id")} || from_level END)
                    OVER (PARTITION BY case_id), 13) AS level_first,
             MIN(CASE WHEN action = 'report' THEN at END) OVER (PARTITION BY case_id) AS report_at,
             MAX(CASE WHEN action = 'report' THEN actor END)
               OVER (PARTITION BY case_id) AS reporter
      FROM stream s
      WINDOW w AS (PARTITION BY case_id ORDER BY at, kind, id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    late AS (
      SELECT case_id, MIN(due_at) AS late_due,
             MIN(CASE WHEN stage = 'handle' THEN due_at END) AS handle_late_due
      FROM ck WHERE due_at <= :now AND (finished_at IS NULL OR finished_at > due_at)
      GROUP BY case_id
    ),
    done AS (
      SELECT case_id, stage, finished_at,
             MAX(CASE WHEN finished_at <= due_at THEN 1 ELSE 0 END) AS on_time
      FROM ck WHERE stage IN ('register', 'dispatch') AND finished_at IS NOT NULL
      GROUP BY case_id, stage, finished_at
    ),
    at_finish AS (
      SELECT ck.id,
             substr(MAX(CASE WHEN ev.action <> 'report' THEN {d.pad("ev.id")} || ev.action END),
                    13) AS last_action,
             CAST(substr(MIN({d.pad("ev.id")} || ev.actor), 13) AS integer) AS first_actor
      FROM ck JOIN ev ON ev.case_id = ck.case_id AND ev.at = ck.finished_at
      GROUP BY ck.id
    ),
    clocks AS (
      SELECT ck.case_id, ck.stage, ck.due_at,
             CASE WHEN ck.stage = 'handle' THEN COALESCE(walked.dept, '') ELSE '' END AS dept,
             CASE WHEN {_completes()} THEN 1 ELSE 0 END AS completed,
             CASE WHEN ck.finished_at IS NULL OR ck.finished_at > ck.due_at
                  THEN 1 ELSE 0 END AS running,
             at_finish.first_actor
      FROM ck
      LEFT JOIN at_finish ON at_finish.id = ck.id
      LEFT JOIN walked ON walked.action = 'clock' AND walked.id = ck.id
                      AND walked.case_id = ck.case_id
    ),
    facts AS (
      SELECT f.case_id, f.at,
             CASE WHEN m.part = '{CLOSE_HOURS_PREFIX}' THEN '{CLOSE_HOURS_PREFIX}' || {hours}
                  ELSE m.part END AS part,
             CASE WHEN m.with_dept = 'dept' THEN COALESCE(f.dept, '') ELSE '' END AS dept,
             CASE m.worker WHEN 'reporter' THEN COALESCE(f.reporter, 0)
                           WHEN 'actor' THEN f.actor
                           WHEN 'closer' THEN
                             CASE WHEN f.action = 'self_handle' THEN f.actor ELSE 0 END
                           ELSE 0 END AS worker
      FROM walked f
      JOIN part_map m ON m.action = f.action
      JOIN cs c ON c.id = f.case_id
      LEFT JOIN late l ON l.case_id = f.case_id
      LEFT JOIN done ON done.case_id = f.case_id AND done.stage = f.action
                    AND done.finished_at = f.at
      WHERE f.action <> 'clock' AND f.at >= :start AND f.at < :end
        AND CASE m.part
              WHEN 'voided' THEN
                CASE WHEN f.from_state IS NULL OR f.from_state <> 'reported' THEN 1 ELSE 0 END
              WHEN 'registered_on_time' THEN COALESCE(done.on_time, 0)
              WHEN 'dispatched_on_time' THEN COALESCE(done.on_time, 0)
              WHEN 'should_close' THEN
                CASE WHEN l.handle_late_due IS NULL OR l.handle_late_due >= f.at
                     THEN 1 ELSE 0 END
              WHEN 'closed_on_time' THEN
                CASE WHEN l.late_due IS NULL OR l.late_due >= f.at THEN 1 ELSE 0 END
              WHEN 'closed_low' THEN
                CASE WHEN COALESCE(f.level_now, NULLIF(f.level_first, ''), c.level) IN ({low})
                     THEN 1 ELSE 0 END
              WHEN '{CLOSE_HOURS_PREFIX}' THEN
                CASE WHEN f.report_at IS NOT NULL THEN 1 ELSE 0 END
              WHEN 'satisfied' THEN CASE WHEN f.rating >= 4 THEN 1 ELSE 0 END
              ELSE 1 END = 1
      UNION ALL
      SELECT k.case_id, k.due_at, m.part, k.dept,
             CASE WHEN k.stage = 'verify' AND k.completed = 1
                  THEN COALESCE(k.first_actor, 0) ELSE 0 END
      FROM clocks k JOIN clock_map m ON m.stage = k.stage
      WHERE k.due_at >= :start AND k.due_at < :end
        AND CASE m.part
              WHEN 'overdue' THEN CASE WHEN k.due_at <= :now AND k.running = 1 THEN 1 ELSE 0 END
              WHEN 'should_close' THEN
                CASE WHEN k.due_at <= :now AND k.running = 1 THEN 1 ELSE 0 END
              WHEN 'handled_on_time' THEN
                CASE WHEN k.completed = 1 AND k.running = 0 THEN 1 ELSE 0 END
              WHEN 'verified_on_time' THEN
                CASE WHEN k.completed = 1 AND k.running = 0 THEN 1 ELSE 0 END
              ELSE CASE WHEN k.completed = 1 OR k.running = 1 THEN 1 ELSE 0 END
            END = 1
      UNION ALL
      SELECT s.case_id, s.due_at, 'summoned', s.department_code, 0
      FROM sm s
      UNION ALL
      SELECT s.case_id, s.due_at, 'summons_on_time', s.department_code, 0
      FROM sm s WHERE s.acknowledged_at <= s.due_at
    )
    INSERT INTO figure_staging
      (day, territory_code, department_code, category_id, worker_id, part, n)
    SELECT {d.local_day("f.at")}, c.territory_code, f.dept, c.category_id, f.worker, f.part,
           COUNT(*)
    FROM facts f JOIN cs c ON c.id = f.case_id
    GROUP BY 1, 2, 3, 4, 5, 6
    """  # noqa: S608  (the code's constants only, no user text)
    stmt = scope.bind(text(sql)).bindparams(
        bindparam("python_ids", list(python_ids), expanding=True),
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("now", type_=UTCDateTime()),
    )
    return stmt
