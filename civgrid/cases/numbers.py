"""Human-readable, unique case numbers: ``<township code>-<local date>-<daily sequence>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civgrid.cases.models import CaseNumberCounter
from civgrid.config import get_settings


def next_number(db: Session, township_code: str, at: datetime) -> str:
    """Take the next number of the township's day, e.g. ``441900101-20261123-00042``.

    One upsert on a counter row, in the caller's transaction: concurrent reports queue on that
    row until the caller commits, so the caller takes the number as the last thing before its
    commit (see ``report_case``). A report that rolls back gives its number back: no gaps, no
    duplicates. (SQLite serialises writers anyway.)
    """
    prefix = f"{township_code}-{at.astimezone(get_settings().tz):%Y%m%d}"
    dialect = db.get_bind().dialect.name
    # On the session's connection, not through the ORM: no autoflush of the unnumbered case.
    seq = db.connection().execute(_UPSERTS[dialect], {"prefix": prefix}).scalar_one()
    return f"{prefix}-{seq:05d}"


def _upsert(insert: Any) -> Any:
    return (
        insert(CaseNumberCounter)
        .values(prefix=bindparam("prefix"), last=1)
        .on_conflict_do_update(
            index_elements=[CaseNumberCounter.prefix], set_={"last": CaseNumberCounter.last + 1}
        )
        .returning(CaseNumberCounter.last)
    )


# Built once: the statement is the same for every report, only the prefix changes.
_UPSERTS = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}
