"""A new case's rows, written at once: its number, the case, its first event and its clock.

Case numbers are human-readable and unique: ``<township code>-<local date>-<daily sequence>``,
e.g. ``441900101-20261123-00042``, taken from a counter row per township and day.

On PostgreSQL the counter upsert and the three inserts are one statement (data-modifying
CTEs): one round trip, and the counter row stays locked only for that statement and the
commit, so concurrent reports queue on it briefly. A report that rolls back gives its number
back: no gaps, no duplicates. SQLite, which serialises writers anyway, runs the same writes
one after the other.

The rows are written with Core, not flushed through the ORM (the ORM's unit of work was the
largest cost of intake, see docs/benchmarks.md); the objects passed in are then made
persistent in the session as if loaded, so callers use them like any other.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

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
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseNumberCounter
from civgrid.config import get_settings

CASES: Table = Case.__table__  # type: ignore[assignment]
EVENTS: Table = CaseEvent.__table__  # type: ignore[assignment]
CLOCKS: Table = CaseClock.__table__  # type: ignore[assignment]
COUNTERS: Table = CaseNumberCounter.__table__  # type: ignore[assignment]
DIGITS = 5


def number_prefix(township_code: str, at: datetime) -> str:
    """``<township code>-<local date>``: the counter row a case reported at ``at`` numbers from."""
    return f"{township_code}-{at.astimezone(get_settings().tz):%Y%m%d}"


def insert_new_case(
    db: Session, case: Case, event: CaseEvent, clock: CaseClock, township_code: str
) -> Case:
    """Number ``case`` and write it with its first event and clock, in ``db``'s transaction.

    The three objects are new and unlinked (no ``case`` relationship set); afterwards they are
    persistent and clean in ``db``, ids and number filled in, ``case.clocks == [clock]``.
    """
    rows = [_values(table, obj) for table, obj in zip(TABLES, (case, event, clock), strict=True)]
    prefix = number_prefix(township_code, case.reported_at)
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        params = {f"{t}_{k}": v for t, row in zip("cek", rows, strict=True) for k, v in row.items()}
        found = conn.execute(_pg_report(), {"prefix": prefix, **params}).one()
        case.id, case.number, event.id, clock.id = found
    else:
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
    return case


def _number(prefix: str, seq: int) -> str:
    return f"{prefix}-{seq:0{DIGITS}d}"


TABLES = (CASES, EVENTS, CLOCKS)
# What a new case, its first event and its clock never have: not written (they stay NULL), so
# that the statement keeps few parameters (psycopg caches the parsing of a query of at most
# 50 parameters and 4 kB; the intake's query is parsed once, not per report).
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


def _values(table: Table, obj: Any) -> dict[str, Any]:
    """The written columns of ``obj``'s row: what it was given, else the column default.

    Every column ends up set on the object, so that it holds the whole row once persistent
    (an unset attribute would be loaded again on first access).
    """
    for key in UNSET[table.name]:
        if obj.__dict__.get(key) is not None:
            raise ValueError(f"a new {table.name} row has no {key}")
        setattr(obj, key, None)
    values: dict[str, Any] = {}
    for column in _written(table):
        if column.key not in obj.__dict__:
            value = getattr(column.default, "arg", None)  # a scalar or a callable
            setattr(obj, column.key, value(None) if callable(value) else value)
        values[column.key] = getattr(obj, column.key)
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


@cache
def _pg_report() -> Any:
    """counter upsert → case (numbered from it) → event and clock (with the case's id).

    Built once, on first use: the statement is the same for every report, only the parameters
    change (and the foreign-key columns know their types only once every model is imported).
    Each parameter carries its column's type: in ``INSERT … SELECT`` an untyped NULL is text.
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
    c = (
        insert(CASES)
        .from_select(["number", *names(CASES)], select(number, *params("c", CASES)).select_from(n))
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
    # one row each: joined on TRUE
    return select(c.c.id, c.c.number, e.c.id, k.c.id).select_from(c.join(e, true()).join(k, true()))


_SQLITE_NEXT = _counter_upsert(sqlite_insert)
_SQLITE_INSERTS = [insert(t).returning(t.c.id) for t in TABLES]
