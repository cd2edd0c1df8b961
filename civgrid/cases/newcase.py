"""A new case's rows, written at once: its number, the case, its first event and its clock.

Case numbers are human-readable and unique: ``<township code>-<local date>-<daily sequence>``,
e.g. ``441900101-20261123-00042``, taken from a counter row per township and day.

On PostgreSQL the counter upsert, the three inserts and the likely-duplicate search are one
statement (data-modifying CTEs): one round trip, and the counter row stays locked only for
that statement and the commit, so concurrent reports queue on it briefly. A report that rolls
back gives its number back: no gaps, no duplicates. SQLite, which serialises writers anyway,
runs the same writes one after the other.

The rows are written with Core, not flushed through the ORM (the ORM's unit of work was the
largest cost of intake, see docs/benchmarks.md); the objects passed in are then made
persistent in the session as if loaded, so callers use them like any other. The API's intake
sends the same statement on an asynchronous connection instead (``insert_new_case_async``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any

import psycopg
from sqlalchemy import (
    Column,
    String,
    Table,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from civgrid.cases.duplicates import Duplicate, Near, duplicates_query, nearest
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseNumberCounter
from civgrid.config import get_settings
from civgrid.db.session import hold_write_lock

CASES: Table = Case.__table__  # type: ignore[assignment]
EVENTS: Table = CaseEvent.__table__  # type: ignore[assignment]
CLOCKS: Table = CaseClock.__table__  # type: ignore[assignment]
COUNTERS: Table = CaseNumberCounter.__table__  # type: ignore[assignment]
DIGITS = 5


def number_prefix(township_code: str, at: datetime) -> str:
    """``<township code>-<local date>``: the counter row a case reported at ``at`` numbers from."""
    return f"{township_code}-{at.astimezone(get_settings().tz):%Y%m%d}"


def insert_new_case(
    db: Session,
    case: Case,
    event: CaseEvent,
    clock: CaseClock,
    township_code: str,
    near: Near | None = None,
) -> list[Duplicate]:
    """Number ``case`` and write it with its first event and clock, in ``db``'s transaction.

    The three objects are new and unlinked (no ``case`` relationship set); afterwards they are
    persistent and clean in ``db``, ids and number filled in, ``case.clocks == [clock]``.
    With ``near``, the likely duplicates of the report are looked up as the cases were before
    it, and returned.
    """
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        found = _pg_written(
            _PG_REPORT.run(conn, _pg_params(case, event, clock, township_code, near)),
            case,
            event,
            clock,
            near,
        )
    else:
        hold_write_lock(db)  # the duplicates as they are just before this case is written
        found = nearest(conn, near) if near is not None else []
        rows = [_values(t, obj) for t, obj in zip(TABLES, (case, event, clock), strict=True)]
        prefix = number_prefix(township_code, case.reported_at)
        seq = conn.execute(_SQLITE_NEXT, {"prefix": prefix}).scalar_one()
        case.number = rows[0]["number"] = _number(prefix, seq)
        case.id = conn.execute(_SQLITE_INSERTS[0], rows[0]).scalar_one()
        rows[1]["case_id"] = rows[2]["case_id"] = case.id
        event.id = conn.execute(_SQLITE_INSERTS[1], rows[1]).scalar_one()
        clock.id = conn.execute(_SQLITE_INSERTS[2], rows[2]).scalar_one()
        event.case_id = clock.case_id = case.id
    for obj in (case, event, clock):
        make_transient_to_detached(obj)
        db.add(obj)
    set_committed_value(case, "clocks", [clock])
    return found


async def insert_new_case_async(
    conn: psycopg.AsyncConnection[Any],
    case: Case,
    event: CaseEvent,
    clock: CaseClock,
    township_code: str,
    near: Near | None = None,
    *,
    linked: tuple[Table, dict[str, Any]] | None = None,
) -> list[Duplicate]:
    """``insert_new_case``'s statement on an asynchronous psycopg connection (PostgreSQL).

    On an autocommit connection the statement is a transaction of its own. The objects get
    their ids and number and stay in no session. ``linked`` (a table with a ``case_id`` and
    the values of its other columns) is one more row, pointing to the new case, written by
    the same statement.
    """
    params = _pg_params(case, event, clock, township_code, near)
    statement = _PG_REPORT
    if linked is not None:
        table, values = linked
        statement = _pg_report_with(table)
        params.update({f"x_{k}": v for k, v in values.items()})
    async with psycopg.AsyncRawCursor(conn) as cur:
        await cur.execute(statement.sql, statement.args(params))
        rows = await cur.fetchall()
    return _pg_written(rows, case, event, clock, near)


def _pg_params(
    case: Case, event: CaseEvent, clock: CaseClock, township_code: str, near: Near | None
) -> dict[str, Any]:
    params = {"prefix": number_prefix(township_code, case.reported_at)}
    for prefix, table, obj in (("c", CASES, case), ("e", EVENTS, event), ("k", CLOCKS, clock)):
        params.update(_values(table, obj, prefix))
    if near is None:  # the statement looks for none
        near = Near.of(case.category_id, case.lon, case.lat, at=case.reported_at, limit=0)
    params.update(near.params())
    return params


def _pg_written(
    rows: list[tuple[Any, ...]], case: Case, event: CaseEvent, clock: CaseClock, near: Near | None
) -> list[Duplicate]:
    """Fill in the ids and number from the statement's rows; the duplicates found."""
    case.id, case.number, event.id, clock.id = rows[0][:4]
    event.case_id = clock.case_id = case.id
    return near.found(r[4:] for r in rows if r[4] is not None) if near is not None else []


def _number(prefix: str, seq: int) -> str:
    return f"{prefix}-{seq:0{DIGITS}d}"


TABLES = (CASES, EVENTS, CLOCKS)
# What a new case, its first event and its clock never have: not written (they stay NULL), so
# that the statement has fewer parameters to convert and send.
UNSET: dict[str, frozenset[str]] = {
    "cases": frozenset(
        {
            "state_before_suspension",
            "department_code",
            "rating",
            "merged_into_id",
            "extension_amount",
            *(f"{s}_at" for s in ("registered", "dispatched", "accepted", "handled")),
            *(f"{s}_at" for s in ("verified", "closed", "evaluated")),
        }
    ),
    "case_events": frozenset(),
    "case_clocks": frozenset({"finished_at", "escalated_at"}),
}


def _written(table: Table) -> list[Column[Any]]:
    """The columns the insert writes: not the id, the case link or number, nor ``UNSET``."""
    skip = UNSET[table.name] | {"number", "case_id"}
    return [c for c in table.columns if not c.primary_key and c.key not in skip]


# Per table and parameter prefix: (attribute, parameter name, default: a scalar or a callable
# of no argument) of each written column, in order.
_COLUMNS = {
    (t.name, prefix): [
        (c.key, f"{prefix}_{c.key}" if prefix else c.key, getattr(c.default, "arg", None))
        for c in _written(t)
    ]
    for t in TABLES
    for prefix in ("", "c", "e", "k")
}


def _values(table: Table, obj: Any, prefix: str = "") -> dict[str, Any]:
    """The written columns of ``obj``'s row: what it was given, else the column default.

    Keyed by column, or by ``<prefix>_<column>`` (the statement's parameter names). Every
    column ends up set on the object, so that it holds the whole row once persistent (an
    unset attribute would be loaded again on first access).
    """
    given = obj.__dict__
    for key in UNSET[table.name]:
        if given.get(key) is not None:
            raise ValueError(f"a new {table.name} row has no {key}")
        setattr(obj, key, None)
    values: dict[str, Any] = {}
    for key, name, default in _COLUMNS[table.name, prefix]:
        if key not in given:
            setattr(obj, key, default(None) if callable(default) else default)
        values[name] = given[key]
    return values


def _counter_upsert(insert_: Any) -> Any:
    return (
        insert_(COUNTERS)
        .values(prefix=bindparam("prefix"), last=1)
        .on_conflict_do_update(
            index_elements=[COUNTERS.c.prefix], set_={"last": COUNTERS.c.last + 1}
        )
        .returning(COUNTERS.c.last)
    )


_REQUIRED = object()


class _Compiled:
    """A PostgreSQL statement compiled once to the server's own ``$n`` placeholders.

    The intake's statement is large and the same every time: through ``Connection.execute``
    SQLAlchemy would walk it for its cache key, and psycopg would rewrite its placeholders, on
    every report. Here both happen once; each run only converts the parameters (with each
    type's bind processor, as SQLAlchemy would) and sends them to the driver, which prepares
    the statement on the server after a few runs. Run below SQLAlchemy, it is not seen by
    engine events (``before_cursor_execute``) or SQL echo.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build

    @cached_property
    def _compiled(self) -> tuple[bytes, list[tuple[str, Any, Callable[[Any], Any] | None]]]:
        """The SQL as the driver sends it, and per placeholder: its name, then ``_REQUIRED`` or
        the value the statement holds (as lpad's "0"), and its type's bind processor."""
        dialect = psycopg_dialect(paramstyle="numeric_dollar")
        compiled = self._build().compile(dialect=dialect)
        binds = []
        for name in compiled.positiontup or []:
            bind = compiled.binds[name]
            value = _REQUIRED if bind.required else bind.effective_value
            binds.append((name, value, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        return compiled.string.encode(), binds

    @property
    def sql(self) -> bytes:
        return self._compiled[0]

    def args(self, params: dict[str, Any]) -> list[Any]:
        """The positional arguments for ``params`` (by the names of the bind parameters)."""
        out = []
        for name, value, process in self._compiled[1]:
            if value is _REQUIRED:
                value = params[name]
            out.append(process(value) if process else value)
        return out

    def run(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows on ``conn``'s driver connection, in its transaction."""
        args = self.args(params)
        driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        with psycopg.RawCursor(driver) as cur:
            cur.execute(self.sql, args)
            return cur.fetchall()


def _pg_report(linked: Table | None = None) -> Any:
    """counter upsert → case (numbered from it) → event and clock (with the case's id), and
    the likely duplicates as the cases were before this one (``Near``'s parameters).

    Built on first use (the foreign-key columns know their types only once every model is
    imported). Each parameter carries its column's type: in ``INSERT … SELECT`` an untyped
    NULL is text.
    """

    def params(prefix: str, table: Table) -> list[Any]:
        return [bindparam(f"{prefix}_{c.key}", type_=c.type) for c in _written(table)]

    def names(table: Table) -> list[str]:
        return [c.key for c in _written(table)]

    n = _counter_upsert(pg_insert).cte("n")
    seq = cast(n.c.last, String)
    # ``_number`` in SQL: at least DIGITS digits, zero-padded, never cut
    number = (
        bindparam("prefix", type_=String)
        + literal_column("'-'")
        + func.lpad(seq, func.greatest(literal_column(str(DIGITS)), func.length(seq)), "0")
    )
    case_params = params("c", CASES)
    c = (
        insert(CASES)
        .from_select(["number", *names(CASES)], select(number, *case_params).select_from(n))
        .returning(CASES.c.id, CASES.c.number)
        .cte("c")
    )

    def child(table: Table, prefix: str) -> Any:
        return (
            insert(table)
            .from_select(["case_id", *names(table)], select(c.c.id, *params(prefix, table)))
            .returning(table.c.id)
            .cte(prefix)
        )

    e, k = child(EVENTS, "e"), child(CLOCKS, "k")
    rows = c.join(e, true()).join(k, true())
    if linked is not None:
        x_cols = [col for col in linked.columns if not col.primary_key and col.key != "case_id"]
        x = (
            insert(linked)
            .from_select(
                ["case_id", *[col.key for col in x_cols]],
                select(c.c.id, *[bindparam(f"x_{col.key}", type_=col.type) for col in x_cols]),
            )
            .returning(linked.c.id)
            .cte("x")
        )
        rows = rows.join(x, true())
    the = {b.key.removeprefix("c_"): b for b in case_params}
    d = duplicates_query(
        lon=the["lon"], lat=the["lat"], category_id=the["category_id"], postgresql=True
    ).cte("d")
    # one row each for the new case, joined on TRUE; a row per duplicate, if any
    return (
        select(c.c.id, c.c.number, e.c.id, k.c.id, *d.c)
        .select_from(rows.outerjoin(d, true()))
        .order_by(d.c.d2, d.c.id)
    )


_PG_REPORT = _Compiled(_pg_report)
_PG_LINKED: dict[str, _Compiled] = {}


def _pg_report_with(table: Table) -> _Compiled:
    """The intake statement that also writes a row of ``table`` linked to the new case."""
    if table.name not in _PG_LINKED:
        _PG_LINKED[table.name] = _Compiled(lambda: _pg_report(table))
    return _PG_LINKED[table.name]


_SQLITE_NEXT = _counter_upsert(sqlite_insert)
_PG_NEXT = _counter_upsert(pg_insert)


def next_in_sequence(db: Session, prefix: str) -> int:
    """The next number of a named sequence (a row of ``case_number_counters``), race-free."""
    postgresql = db.get_bind().dialect.name == "postgresql"
    return int(
        db.execute(_PG_NEXT if postgresql else _SQLITE_NEXT, {"prefix": prefix}).scalar_one()
    )


_SQLITE_INSERTS = [insert(t).returning(t.c.id) for t in TABLES]
