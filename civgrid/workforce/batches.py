"""How an accepted batch of positions is written: its new positions, its idempotency row and the
patrol's counters, all in the caller's transaction.

On PostgreSQL it is one statement whose text does not grow with the batch (parsed and planned
once per connection), the positions passed as one JSON array; on SQLite, three statements.
Either way the positions whose time is already stored are skipped (the unique key on patrol and
time), so a batch sent again, or overlapping another, stores nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civgrid.workforce.models import Patrol, PatrolBatch, PatrolPoint

_PG_STORE = text(
    """
    WITH new AS (
        INSERT INTO patrol_points (patrol_id, at, lon, lat, accuracy_m)
        SELECT :patrol_id, p.at, p.lon, p.lat, p.acc
        FROM json_to_recordset(CAST(:points AS json))
            AS p (at timestamptz, lon float8, lat float8, acc float8)
        ON CONFLICT (patrol_id, at) DO NOTHING
        RETURNING 1
    ), batch AS (
        INSERT INTO patrol_batches (patrol_id, key, received_at, stored, rejected)
        SELECT :patrol_id, :key, :received_at, count(*), CAST(:rejected AS json) FROM new
        ON CONFLICT (patrol_id, key) DO NOTHING
        RETURNING stored
    ), counted AS (
        UPDATE patrols
        SET point_count = point_count + batch.stored,
            rejected_count = rejected_count + :rejected_count
        FROM batch
        WHERE patrols.id = :patrol_id
    )
    SELECT stored FROM batch
    """
)


def store_batch(
    db: Session,
    patrol: Patrol,
    *,
    key: str,
    points: Sequence[tuple[datetime, float, float, float | None]],
    rejected: list[dict[str, Any]],
    received_at: datetime,
) -> int | None:
    """Write a batch (``points`` as time, lon, lat, accuracy): how many positions were new, or
    None if its key was taken, by a batch sent before (then the caller rolls back)."""
    if db.get_bind().dialect.name == "postgresql":
        params = {
            "patrol_id": patrol.id,
            "key": key,
            "received_at": received_at,
            "rejected": json.dumps(rejected),
            "rejected_count": len(rejected),
            "points": json.dumps(
                [{"at": t.isoformat(), "lon": x, "lat": y, "acc": a} for t, x, y, a in points]
            ),
        }
        stored: int | None = db.execute(_PG_STORE, params).scalar()
    else:
        stored = _store_in_three(db, patrol, key, points, rejected, received_at)
    db.expire(patrol, ["point_count", "rejected_count"])
    return stored


def _store_in_three(
    db: Session,
    patrol: Patrol,
    key: str,
    points: Sequence[tuple[datetime, float, float, float | None]],
    rejected: list[dict[str, Any]],
    received_at: datetime,
) -> int | None:
    """SQLite: the positions, the batch row (unless its key is taken), the counters."""
    stored = 0
    if points:
        rows = [
            {"patrol_id": patrol.id, "at": t, "lon": x, "lat": y, "accuracy_m": a}
            for t, x, y, a in points
        ]
        stmt = _insert(PatrolPoint).on_conflict_do_nothing(index_elements=["patrol_id", "at"])
        stored = _count(db.execute(stmt, rows))
    batch = _insert(PatrolBatch).on_conflict_do_nothing(index_elements=["patrol_id", "key"])
    row = {"patrol_id": patrol.id, "key": key, "stored": stored, "rejected": rejected}
    if not _count(db.execute(batch.values(**row, received_at=received_at))):
        return None
    c = Patrol.__table__.c
    db.execute(
        update(cast(Table, Patrol.__table__))
        .where(c.id == patrol.id)
        .values(point_count=c.point_count + stored, rejected_count=c.rejected_count + len(rejected))
    )
    return stored


def _count(result: Any) -> int:
    """The rows a Core INSERT or UPDATE touched."""
    return int(cast(CursorResult[Any], result).rowcount)


def _insert(model: type[Any]) -> Any:
    """A Core INSERT (its row count is the rows inserted, unlike the ORM's bulk insert)."""
    return sqlite_insert(model.__table__).execution_options(preserve_rowcount=True)
