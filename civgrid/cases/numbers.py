"""Human-readable, unique case numbers: ``<township code>-<local date>-<daily sequence>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civgrid.cases.models import CaseNumberCounter
from civgrid.config import get_settings


def next_number(db: Session, township_code: str, at: datetime) -> str:
    """Take the next number of the township's day, e.g. ``441900101-20261123-00042``.

    One upsert on a counter row. On PostgreSQL it commits at once on a connection of its own,
    so concurrent reports do not queue on that row for the rest of their transaction; a
    report that then rolls back leaves a gap, never a duplicate. SQLite serialises writers
    anyway, so there the upsert joins the caller's transaction.
    """
    prefix = f"{township_code}-{at.astimezone(get_settings().tz):%Y%m%d}"
    bind = db.get_bind()
    if bind.dialect.name == "postgresql":
        with bind.engine.connect() as conn:
            seq = conn.execute(_upsert(pg_insert, prefix)).scalar_one()
            conn.commit()
    else:
        seq = db.execute(_upsert(sqlite_insert, prefix)).scalar_one()
    return f"{prefix}-{seq:05d}"


def _upsert(insert: Any, prefix: str) -> Any:
    return (
        insert(CaseNumberCounter)
        .values(prefix=prefix, last=1)
        .on_conflict_do_update(
            index_elements=[CaseNumberCounter.prefix], set_={"last": CaseNumberCounter.last + 1}
        )
        .returning(CaseNumberCounter.last)
    )
