"""The reference for bench/intake.py: a bare FastAPI endpoint writing a case with psycopg.

It writes the same rows as the full pipeline writes for one report, in one transaction: the
``cases`` row (with its running stage), its first ``case_events`` row and its ``case_clocks``
row. It does none of the work around them: no auth, no locating (fixed village and territory
codes), no duplicate search, no routing, no time limit or calendar (a fixed one-hour deadline),
and a random case number instead of the daily counter. That is the floor that the full pipeline
is compared with.
"""

from __future__ import annotations

import json
import os
import queue
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
from anyio import to_thread
from fastapi import FastAPI
from pydantic import BaseModel

POOL_SIZE = 20

INSERT_CASE = """
INSERT INTO cases (number, version, state, source, level, priority, category_id, lon, lat,
    address, division_code, grid_code, territory_code, description, outcome_note,
    extension_reason, stage, stage_started_at, due_at, due_unit, reported_at, updated_at)
VALUES (%(number)s, 1, 'reported', %(source)s, 'grid', 'normal', %(category_id)s, %(lon)s,
    %(lat)s, '', '441900101002', NULL, '441900101002', %(description)s, '', '', 'register',
    %(now)s, %(due)s, 'work_hours', %(now)s, %(now)s)
RETURNING id
"""
INSERT_EVENT = """
INSERT INTO case_events (case_id, at, actor_id, actor_label, action, from_state, to_state,
    note, data, attachment_ids)
VALUES (%(id)s, %(now)s, NULL, 'bench', 'report', NULL, 'reported', '', %(data)s, '[]')
"""
INSERT_CLOCK = """
INSERT INTO case_clocks (case_id, stage, amount, unit, started_at, due_at)
VALUES (%(id)s, 'register', 1, 'work_hours', %(now)s, %(due)s)
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

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The same thread limit as the full app (CIVGRID_THREADPOOL_SIZE, see civgrid.config).
        threads = int(os.environ.get("CIVGRID_THREADPOOL_SIZE", "40"))
        to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/cases", status_code=201)
    def report(body: Report) -> dict[str, object]:
        now = datetime.now(UTC)
        args: dict[str, object] = {
            **body.model_dump(),
            "number": f"441900101-{now:%Y%m%d}-b{uuid.uuid4().hex[:12]}",
            "now": now,
            "due": now + timedelta(hours=1),
            "data": json.dumps({"source": body.source}),
        }
        with connection() as conn:
            row = conn.execute(INSERT_CASE, args).fetchone()
            args["id"] = row[0] if row else None
            conn.execute(INSERT_EVENT, args)
            conn.execute(INSERT_CLOCK, args)
            conn.commit()
        return {"number": args["number"], "id": args["id"]}

    return app
