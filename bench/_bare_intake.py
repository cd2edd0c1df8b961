"""The reference for bench/intake.py: a bare FastAPI endpoint inserting one case row with psycopg.

No auth, no locating, no routing, no calendar, no event: the floor that the full pipeline is
compared with. It writes the same ``cases`` table with fixed codes.
"""

from __future__ import annotations

import os
import queue
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from fastapi import FastAPI
from pydantic import BaseModel

POOL_SIZE = 20

INSERT = """
INSERT INTO cases (number, version, state, source, level, priority, category_id, lon, lat,
    address, division_code, grid_code, territory_code, description, outcome_note,
    extension_reason, reported_at, updated_at)
VALUES (%s, 1, 'reported', %s, 'grid', 'normal', %s, %s, %s, '', '441900101002', NULL,
    '441900101002', %s, '', '', %s, %s)
RETURNING id
"""


class Report(BaseModel):
    source: str
    category_id: int
    lon: float
    lat: float
    description: str


def create_app() -> FastAPI:
    dsn = os.environ["CIVGRID_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    pool: queue.Queue[psycopg.Connection] = queue.Queue()
    for _ in range(POOL_SIZE):
        pool.put(psycopg.connect(dsn))

    @contextmanager
    def connection() -> Iterator[psycopg.Connection]:
        conn = pool.get()
        try:
            yield conn
        finally:
            pool.put(conn)

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/cases", status_code=201)
    def report(body: Report) -> dict[str, object]:
        now = datetime.now(UTC)
        number = f"441900101-{now:%Y%m%d}-b{uuid.uuid4().hex[:12]}"
        with connection() as conn:
            row = conn.execute(
                INSERT,
                (
                    number,
                    body.source,
                    body.category_id,
                    body.lon,
                    body.lat,
                    body.description,
                    now,
                    now,
                ),
            ).fetchone()
            conn.commit()
        return {"number": number, "id": row[0] if row else None}

    return app
