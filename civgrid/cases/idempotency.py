"""Idempotency keys for reports: a client that retries (the answer was lost, the report was
not) sends the same ``Idempotency-Key`` and gets the first answer, not a second case.

The key is claimed in the report's own transaction, before the case is written: an insert
that does nothing if the (client, key) row exists. Two requests with the same key at once
queue on that row (PostgreSQL's unique index, SQLite's one writer); the second then finds the
first's answer, committed with its case. If the first failed, nothing of it remains, and the
second goes ahead. The answer is stored as sent (its body), so a retry gets it byte for byte.

A request without a key costs nothing more: none of this runs.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civgrid.cases.models import IdempotencyKey
from civgrid.db.base import utcnow
from civgrid.db.session import hold_write_lock
from civgrid.errors import Invalid

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"  # the form field, for Open311 clients that cannot set a header
MAX_KEY = 200
KEYS: Table = IdempotencyKey.__table__  # type: ignore[assignment]


def check_key(key: str | None) -> str | None:
    """The key as sent (None if none); 400 unless it is 1 to 200 visible ASCII characters."""
    if key is None or key == "":
        return None
    if len(key) > MAX_KEY or not key.isascii() or not key.isprintable() or key != key.strip():
        raise Invalid(f"{HEADER} must be 1 to {MAX_KEY} visible ASCII characters", field=FIELD)
    return key


def claim(db: Session, scope: str, key: str) -> str | None:
    """Claim ``key`` in ``db``'s transaction: None if it is new (write the report, then
    ``remember``), else the first answer (write nothing)."""
    hold_write_lock(db)
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = db.execute(
        insert(KEYS)
        .values(scope=scope, key=key, answer="", created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[KEYS.c.scope, KEYS.c.key])
        .returning(KEYS.c.id)
    ).scalar()
    if claimed is not None:
        return None
    return db.scalar(select(KEYS.c.answer).where(KEYS.c.scope == scope, KEYS.c.key == key))


def remember(db: Session, scope: str, key: str, case_id: int, answer: str) -> None:
    """Store the answer to a claimed key, in the report's transaction."""
    db.execute(
        update(KEYS)
        .where(KEYS.c.scope == scope, KEYS.c.key == key)
        .values(case_id=case_id, answer=answer)
    )


_CLAIM = (
    "INSERT INTO idempotency_keys (scope, key, answer, created_at) VALUES (%s, %s, '', %s) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
)
_ANSWER = "SELECT answer FROM idempotency_keys WHERE scope = %s AND key = %s"
_REMEMBER = "UPDATE idempotency_keys SET case_id = %s, answer = %s WHERE scope = %s AND key = %s"


async def claim_async(conn: psycopg.AsyncConnection[Any], scope: str, key: str) -> str | None:
    """``claim`` on an asynchronous connection, inside its transaction."""
    cur = await conn.execute(_CLAIM, (scope, key, utcnow()))
    if await cur.fetchone() is not None:
        return None
    row = await (await conn.execute(_ANSWER, (scope, key))).fetchone()
    return None if row is None else str(row[0])


async def remember_async(
    conn: psycopg.AsyncConnection[Any], scope: str, key: str, case_id: int, answer: str
) -> None:
    await conn.execute(_REMEMBER, (case_id, answer, scope, key))
