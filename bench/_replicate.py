"""Copy cases written by ``write_bulk`` to other grids, set-based, as the actions would write them.

``replicate(db, first, targets)`` takes the cases with ids from ``first`` on (the templates:
written last, by ``civgrid.cases.history.write_bulk``) and writes, for each ``Target`` of a
template's grid, a copy of the case with its events, clocks and attachments. The templates
stay where they are (the app's role may not delete events): their ids come before the copies'
instead of among them in order of report time.

A copy is what the actions would have written for the same script reported at the point moved
by (``dlon``, ``dlat``) into the target grid:

- the same instants, people, notes, states, stage clocks and deadlines (time limits and the
  working calendar depend on the category and the time, not on the place);
- the target's grid, village and territory codes; the number from the target township's
  counter for the day (``number_prefix``), in order of report time; the counters updated;
- the routing suggestion for the category in the target village (the register and dispatch
  events' data, and the department of a dispatched case), worked out by ``routing_suggestion``;
- new ids, contiguous per case and in order of report time, as the actions give them;
  attachment ids in events point to the copy's attachments.

What a copy does not get that a real report would: nothing written by the actions depends on
other cases (the likely-duplicate search answers the reporter, it writes nothing). The level
(grid / village / township) is the template's: every benchmark grid is a grid.

With ``fast`` (the benchmarks, as the database owner and a superuser), the secondary indexes
and unique constraints of the four tables are dropped for the load and made again after it,
and foreign-key triggers do not fire (``session_replication_role = replica``): the rows are
consistent by construction. Everything runs in one transaction, committed at the end.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

TABLES = ("cases", "case_events", "case_clocks", "case_attachments")
CHILDREN = ("case_events", "case_clocks", "case_attachments")
# Copies written per statement (a chunk of template report days × all their targets).
CHUNK = 400_000


@dataclass(frozen=True)
class Target:
    """Copy the cases of grid ``template`` into grid ``grid`` (village ``village``), moved."""

    template: str
    grid: str
    village: str
    dlon: float
    dlat: float


@dataclass
class Replicated:
    cases: int = 0
    rows: int = 0  # cases, events, clocks and attachments written
    index_s: float = 0.0


def replicate(
    db: Session, first: int, targets: list[Target], *, fast: bool = False, chunk: int = CHUNK
) -> Replicated:
    """Copy the template cases (ids ≥ ``first``) to their targets; commit."""
    if any(t.grid == t.template for t in targets):
        raise ValueError("a template's own grid keeps its cases: it is no target")
    from civgrid.config import get_settings

    conn = db.connection()
    out = Replicated()
    if fast:  # temporary tables live in the session's own buffers (8 MB by default)
        conn.execute(text("SET temp_buffers = '1GB'"))
    t = time.perf_counter()
    _stage_templates(conn, first)
    _stage_targets(conn, targets)
    _stage_routes(db, conn)
    print(f"  templates staged in {time.perf_counter() - t:.1f} s", flush=True)
    dropped: list[str] = []
    if fast:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        dropped = _drop_indexes(conn)
    tz = get_settings().timezone
    for low, high in _chunks(conn, tz, chunk):
        t = time.perf_counter()
        written = _copy_chunk(conn, low, high, tz)
        out.cases += written[0]
        out.rows += sum(written)
        dt = time.perf_counter() - t
        print(
            f"  {out.cases} cases copied ({out.rows} rows; this chunk {sum(written) / dt:.0f}"
            f" rows/s) …",
            flush=True,
        )
    if fast:
        t = time.perf_counter()
        conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        for statement in dropped:
            conn.execute(text(statement))
        out.index_s = time.perf_counter() - t
        print(f"  indexes made in {out.index_s:.1f} s", flush=True)
    _reset_sequences(conn)
    for table in ("tpl", "tpl_map", "tpl_route", *(f"tpl_{t}" for t in TABLES)):
        conn.execute(text(f"DROP TABLE {table}"))
    db.commit()
    return out


# ---------------------------------------------------------------- staging


def _stage_templates(conn: Connection, first: int) -> None:
    """The templates' rows in temporary tables, and per case its children's first id and count."""
    for table in TABLES:
        link = "id" if table == "cases" else "case_id"
        conn.execute(
            text(
                f"CREATE TEMP TABLE tpl_{table} ON COMMIT DROP AS"  # noqa: S608  (our own names)
                f" SELECT * FROM {table} WHERE {link} >= {int(first)}"
            )
        )
    parts = []
    for table, name in zip(CHILDREN, ("ev", "ck", "at"), strict=True):
        conn.execute(text(f"CREATE INDEX ON tpl_{table} (case_id, id)"))
        parts.append(
            f"LEFT JOIN (SELECT case_id, min(id) AS {name}_first, count(*) AS {name}_n,"  # noqa: S608
            f" max(id) - min(id) + 1 AS {name}_span FROM tpl_{table} GROUP BY case_id) {name}"
            f" ON {name}.case_id = c.id"
        )
    conn.execute(
        text(
            "CREATE TEMP TABLE tpl ON COMMIT DROP AS SELECT c.id, c.grid_code, c.category_id,"  # noqa: S608
            " c.reported_at, c.dispatched_at IS NOT NULL AS dispatched,"
            " coalesce(ev_first, 0) AS ev_first, coalesce(ev_n, 0) AS ev_n, ev_span,"
            " coalesce(ck_first, 0) AS ck_first, coalesce(ck_n, 0) AS ck_n, ck_span,"
            " coalesce(at_first, 0) AS at_first, coalesce(at_n, 0) AS at_n, at_span"
            f" FROM tpl_cases c {' '.join(parts)}"
        )
    )
    broken = conn.scalar(
        text("SELECT count(*) FROM tpl WHERE ev_span <> ev_n OR ck_span <> ck_n OR at_span <> at_n")
    )
    if broken:  # write_bulk takes a case's ids one after the other
        raise ValueError(f"{broken} template cases have children with ids not contiguous")
    conn.execute(text("CREATE INDEX ON tpl (reported_at)"))
    conn.execute(text("CREATE INDEX ON tpl_cases (id)"))
    for table in ("tpl", *(f"tpl_{t}" for t in TABLES)):
        conn.execute(text(f"ANALYZE {table}"))


def _stage_targets(conn: Connection, targets: list[Target]) -> None:
    conn.execute(
        text(
            "CREATE TEMP TABLE tpl_map (template text, grid text, village text, township text,"
            " dlon float8, dlat float8) ON COMMIT DROP"
        )
    )
    conn.execute(
        text(
            "INSERT INTO tpl_map SELECT t, g, v, left(v, 9), x, y"
            " FROM unnest(CAST(:t AS text[]), CAST(:g AS text[]), CAST(:v AS text[]),"
            " CAST(:x AS float8[]), CAST(:y AS float8[])) AS m (t, g, v, x, y)"
        ),
        {
            "t": [m.template for m in targets],
            "g": [m.grid for m in targets],
            "v": [m.village for m in targets],
            "x": [m.dlon for m in targets],
            "y": [m.dlat for m in targets],
        },
    )
    conn.execute(text("CREATE INDEX ON tpl_map (template)"))
    conn.execute(text("ANALYZE tpl_map"))


def _stage_routes(db: Session, conn: Connection) -> None:
    """The routing suggestion per (category, target village), and the events' data with it.

    The data is serialised as the JSON columns serialise a dict (``json.dumps``), so a copy's
    stored text is the one the action stores.
    """
    pairs = conn.execute(
        text(
            "SELECT DISTINCT t.category_id, m.village FROM tpl t"
            " JOIN tpl_map m ON m.template = t.grid_code"
        )
    ).all()
    suggest = _Suggestions(db)
    rows: dict[str, list[Any]] = {"c": [], "v": [], "d": [], "r": [], "s": []}
    for category_id, village in pairs:
        dept = suggest(category_id, village)
        rows["c"].append(category_id)
        rows["v"].append(village)
        rows["d"].append(dept)
        rows["r"].append(json.dumps({"suggested_department": dept}))
        rows["s"].append(
            json.dumps({"suggested_department": dept, "department": dept, "override": False})
        )
    conn.execute(
        text(
            "CREATE TEMP TABLE tpl_route ON COMMIT DROP AS SELECT * FROM unnest("
            " CAST(:c AS int[]), CAST(:v AS text[]), CAST(:d AS text[]),"
            " CAST(:r AS json[]), CAST(:s AS json[]))"
            " AS r (category_id, village, dept, register_data, dispatch_data)"
        ),
        rows,
    )
    conn.execute(text("CREATE INDEX ON tpl_route (category_id, village)"))
    conn.execute(text("ANALYZE tpl_route"))


class _Suggestions:
    """``routing_suggestion`` for many places, each category's rules read once."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.rules: dict[int, Any] = {}

    def __call__(self, category_id: int, village: str) -> str | None:
        from civgrid.catalogue.models import Category
        from civgrid.catalogue.service import category_rules, suggest_from

        if category_id not in self.rules:
            category = self.db.get(Category, category_id)
            self.rules[category_id] = category_rules(self.db, category) if category else []
        found = suggest_from(self.rules[category_id], village)
        return found.code if found else None


# ---------------------------------------------------------------- indexes


def _drop_indexes(conn: Connection) -> list[str]:
    """Drop the secondary indexes and unique constraints of the four tables; the DDL to remake
    them (primary keys stay: the copies are appended in id order)."""
    remake = []
    constraints = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'u' AND conrelid::regclass::text = ANY(:t)"
        ),
        {"t": list(TABLES)},
    ).all()
    for table, name, definition in constraints:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        remake.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid::regclass::text = ANY(:t) AND NOT i.indisprimary"
        ),
        {"t": list(TABLES)},
    ).all()
    for name, definition in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
        remake.append(definition)
    return remake


def _reset_sequences(conn: Connection) -> None:
    for table in TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        )


# ---------------------------------------------------------------- copying


def _chunks(conn: Connection, tz: str, size: int) -> list[tuple[Any, Any]]:
    """Ranges of template report instants, cut at local midnight (a day's numbers are one
    counter row), each with about ``size`` copies."""
    days = conn.execute(
        text(
            "SELECT date_trunc('day', t.reported_at AT TIME ZONE :tz) AT TIME ZONE :tz AS day,"
            " count(*) AS n FROM tpl t JOIN tpl_map m ON m.template = t.grid_code"
            " GROUP BY 1 ORDER BY 1"
        ),
        {"tz": tz},
    ).all()
    out: list[tuple[Any, Any]] = []
    start, count = None, 0
    for day, n in days:
        if start is None:
            start = day
        elif count + n > size:
            out.append((start, day))
            start, count = day, 0
        count += n
    if start is not None:
        out.append((start, None))
    return out


def _columns(table: str) -> list[str]:
    import civgrid.cases.models  # noqa: F401  (the tables, in the metadata)
    from civgrid.db.base import Base

    t: Table = Base.metadata.tables[table]
    return [c.name for c in t.columns]


# What differs between a copy and its template; every other column is copied as it is.
COPIED: dict[str, dict[str, str]] = {
    "cases": {
        "id": "r.new_id",
        "number": "r.number",
        "lon": "c.lon + r.dlon",
        "lat": "c.lat + r.dlat",
        "division_code": "r.village",
        "grid_code": "r.grid",
        "territory_code": "r.grid",
        "department_code": "CASE WHEN r.dispatched THEN r.dept END",
    },
    "case_events": {
        "id": "r.ev_start + c.id - r.ev_first",
        "case_id": "r.new_id",
        "data": "CASE c.action WHEN 'register' THEN r.register_data"
        " WHEN 'dispatch' THEN r.dispatch_data ELSE c.data END",
        # attachment ids are the copy's (a case's attachments are contiguous, as its events)
        "attachment_ids": "CASE WHEN json_array_length(c.attachment_ids) = 0"
        " THEN c.attachment_ids ELSE (SELECT json_agg(x::bigint + r.at_start - r.at_first)"
        " FROM json_array_elements_text(c.attachment_ids) AS x) END",
    },
    "case_clocks": {"id": "r.ck_start + c.id - r.ck_first", "case_id": "r.new_id"},
    "case_attachments": {"id": "r.at_start + c.id - r.at_first", "case_id": "r.new_id"},
}


def _copy_chunk(conn: Connection, low: Any, high: Any, tz: str) -> tuple[int, ...]:
    """Write the copies of the templates reported in [low, high); rows written per table."""
    bases = {
        t: conn.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}"))  # noqa: S608
        for t in TABLES
    }
    # One row per copy: its ids, number and place. Ids in order of (report time, template,
    # target grid); each copy's children take a block of ids the size of the template's.
    conn.execute(
        text(
            "CREATE TEMP TABLE tpl_copy ON COMMIT DROP AS"
            " WITH o AS ("
            "  SELECT t.*, m.grid, m.village, m.township, m.dlon, m.dlat,"
            "   :cb + row_number() OVER (ORDER BY t.reported_at, t.id, m.grid) AS new_id,"
            "   m.township || '-' || to_char(t.reported_at AT TIME ZONE :tz, 'YYYYMMDD') AS prefix"
            "  FROM tpl t JOIN tpl_map m ON m.template = t.grid_code"
            "  WHERE t.reported_at >= :low AND (CAST(:high AS timestamptz) IS NULL"
            "   OR t.reported_at < :high)"
            " ), s AS ("
            "  SELECT o.*,"
            "   :eb + sum(ev_n) OVER w - ev_n + 1 AS ev_start,"
            "   :kb + sum(ck_n) OVER w - ck_n + 1 AS ck_start,"
            "   :ab + sum(at_n) OVER w - at_n + 1 AS at_start,"
            "   coalesce(k.last, 0) + row_number() OVER (PARTITION BY o.prefix ORDER BY new_id)"
            "    AS seq"
            "  FROM o LEFT JOIN case_number_counters k ON k.prefix = o.prefix"
            "  WINDOW w AS (ORDER BY new_id ROWS UNBOUNDED PRECEDING)"
            " )"
            " SELECT s.*, s.prefix || '-' || lpad(seq::text, greatest(5, length(seq::text)), '0')"
            "  AS number, rt.dept, rt.register_data, rt.dispatch_data"
            " FROM s LEFT JOIN tpl_route rt"
            "  ON rt.category_id = s.category_id AND rt.village = s.village"
        ),
        {
            "cb": bases["cases"],
            "eb": bases["case_events"],
            "kb": bases["case_clocks"],
            "ab": bases["case_attachments"],
            "tz": tz,
            "low": low,
            "high": high,
        },
    )
    conn.execute(text("ANALYZE tpl_copy"))
    written = []
    for table in TABLES:
        cols = _columns(table)
        values = ", ".join(COPIED[table].get(c, f"c.{c}") for c in cols)
        link = "c.id = r.id" if table == "cases" else "c.case_id = r.id"
        result = conn.execute(
            text(
                f"INSERT INTO {table} ({', '.join(cols)})"  # noqa: S608  (our own names)
                f" SELECT {values} FROM tpl_copy r JOIN tpl_{table} c ON {link} ORDER BY 1"
            )
        )
        written.append(result.rowcount)
    conn.execute(
        text(
            "INSERT INTO case_number_counters (prefix, last)"
            " SELECT prefix, max(seq) FROM tpl_copy GROUP BY prefix"
            " ON CONFLICT (prefix) DO UPDATE SET last = excluded.last"
        )
    )
    conn.execute(text("DROP TABLE tpl_copy"))
    return tuple(written)
