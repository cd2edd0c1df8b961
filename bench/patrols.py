"""Patrol uploads over HTTP on PostgreSQL, against a bare insert of the same points.

Full pipeline (the real app under uvicorn): N workers each start a patrol, then upload their
positions (one per 10 s over ``--hours``) in batches of 60 through
``POST /api/v1/patrols/{id}/points``: bearer-token auth, the patrol's owner, idempotency key,
no-time / future / far-outside / speed checks, the stored-times lookup, the insert, the batch
row. Reference, same run, same database: the same batches inserted by psycopg into a bare
table of the same columns, one transaction per batch, with no HTTP, auth or checks.

Then a month's patrol table for the county (``GET /api/v1/patrols/month``) over a month of
daily summaries for every worker.

The issue asks for 1,000 workers × a day (8.64 M points); on a shared 2-core machine that takes
far more than a few minutes, so the default is scaled down (``--workers 200 --hours 1``), and
the points/s and per-batch latency are what scale, not the total.

Run: ``.venv/bin/python bench/patrols.py [--workers 200] [--hours 1] [--concurrency 8]``
(PostgreSQL at CIVGRID_BENCH_PG, default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("CIVGRID_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
VILLAGE = "441900101002"
LON, LAT = 113.78, 23.09
BATCH = 60
BENCH_PASSWORD = "bench-" + uuid.uuid4().hex  # a throwaway database's accounts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_db() -> tuple[str, str]:
    name = f"t22_bench_{uuid.uuid4().hex[:8]}"
    eng = create_engine(PG, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return name, PG.rsplit("/", 1)[0] + "/" + name


def _drop_db(name: str) -> None:
    eng = create_engine(PG, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def _prepare(url: str, workers: int, month: date) -> tuple[list[str], str]:
    """Divisions, one grid with every worker in it, tokens; a month of daily summaries."""
    from shapely import box

    from civgrid.auth.actions import create_user, issue_token
    from civgrid.auth.models import ApiToken, Role, ScopeKind, User
    from civgrid.auth.security import new_token, token_digest
    from civgrid.db.migrate import upgrade
    from civgrid.divisions.importer import import_divisions
    from civgrid.grids.actions import GridDraft, create_grid
    from civgrid.grids.models import GridMember
    from civgrid.workforce.models import PatrolDay

    upgrade(url)
    eng = create_engine(url)
    with Session(eng) as db:
        import_divisions(db, ROOT / "tests" / "fixtures" / "divisions", as_of=date(2023, 6, 30))
        grid = create_grid(
            db,
            GridDraft(VILLAGE, box(LON, LAT, LON + 0.02, LAT + 0.02), "基准网格", 400, 1000),
            actor=None,
        )
        admin = create_user(
            db,
            username="admin",
            password=BENCH_PASSWORD,
            role=Role.ADMIN,
            scopes=[(ScopeKind.ALL, "")],
            actor=None,
        )
        admin_token, _ = issue_token(db, admin)
        first = create_user(
            db,
            username="w0",
            password=BENCH_PASSWORD,
            role=Role.GRID_WORKER,
            scopes=[(ScopeKind.GRID, grid.code)],
            actor=None,
        )
        # The other workers share the first one's password hash: hashing 1,000 passwords
        # would take longer than the measurement.
        rows = [
            {
                "username": f"w{i}",
                "display_name": f"网格员{i}",
                "password_hash": first.password_hash,
                "role": Role.GRID_WORKER,
                "is_active": True,
                "auth_version": 1,
                "field_cleared": True,
                "created_at": datetime.now(UTC),
            }
            for i in range(1, workers)
        ]
        if rows:
            db.execute(insert(User), rows)
        ids = [first.id] + [
            r[0]
            for r in db.execute(
                text("SELECT id FROM users WHERE username ~ '^w[0-9]+$' AND id <> :f ORDER BY id"),
                {"f": first.id},
            )
        ]
        db.execute(
            insert(GridMember),
            [{"grid_id": grid.id, "user_id": u, "post": "full_time"} for u in ids],
        )
        tokens = [new_token() for _ in ids]
        expires = datetime.now(UTC) + timedelta(days=1)
        db.execute(
            insert(ApiToken),
            [
                {
                    "user_id": u,
                    "token_hash": token_digest(t),
                    "expires_at": expires,
                    "created_at": datetime.now(UTC),
                }
                for u, t in zip(ids, tokens, strict=True)
            ],
        )
        days = [month + timedelta(days=d) for d in range(28)]
        db.execute(
            insert(PatrolDay),
            [
                {
                    "user_id": u,
                    "day": d,
                    "territory_code": grid.code,
                    "patrols": 1,
                    "seconds": 3 * 3600 + (u * 7 + d.day * 13) % 7200,
                    "inside_s": 3 * 3600,
                    "distance_m": 5000.0,
                }
                for u in ids
                for d in days
            ],
        )
        db.commit()
    eng.dispose()
    return tokens, admin_token


def _batches(worker: int, start: datetime, hours: float) -> list[list[dict[str, float]]]:
    """A worker's positions, one per 10 s walking east at 1.2 m/s, in batches of 60."""
    n = int(hours * 360)

    def east(i: int) -> float:  # back and forth along a 1.5 km street
        x = i * 12 % 3000
        return float(x if x <= 1500 else 3000 - x)

    pts = [
        {
            "t": (start + timedelta(seconds=10 * i)).timestamp() * 1000,
            "lon": LON + 0.001 + east(i) / 102_000,
            "lat": LAT + 0.001 + (worker % 100) / 11_000,
        }
        for i in range(n)
    ]
    return [pts[i : i + BATCH] for i in range(0, n, BATCH)]


async def _upload(
    base: str, url: str, tokens: list[str], hours: float, concurrency: int
) -> tuple[list[float], int, float]:
    """Start one patrol per worker, then send every batch; latencies (s), points stored, wall."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        sem = asyncio.Semaphore(concurrency)

        async def start(token: str) -> int:
            async with sem:
                r = await client.post(
                    "/api/v1/patrols", headers={"Authorization": f"Bearer {token}"}
                )
                r.raise_for_status()
                return int(r.json()["id"])

        ids = await asyncio.gather(*(start(t) for t in tokens))
        # The patrols began ``hours`` ago (set up outside the measurement), so that the day's
        # points all lie in the past.
        begin = datetime.now(UTC) - timedelta(hours=hours)
        eng = create_engine(url)
        with eng.begin() as c:
            c.execute(
                text("UPDATE patrols SET started_at = :b"), {"b": begin - timedelta(seconds=30)}
            )
        eng.dispose()
        jobs = []
        for w, (pid, token) in enumerate(zip(ids, tokens, strict=True)):
            for k, batch in enumerate(_batches(w, begin, hours)):
                jobs.append((pid, token, f"{pid}-{k}", batch))
        latencies: list[float] = []
        stored = 0

        async def send(pid: int, token: str, key: str, batch: list[dict[str, float]]) -> None:
            nonlocal stored
            async with sem:
                t0 = time.perf_counter()
                r = await client.post(
                    f"/api/v1/patrols/{pid}/points",
                    json={"key": key, "points": batch},
                    headers={"Authorization": f"Bearer {token}"},
                )
                latencies.append(time.perf_counter() - t0)
                r.raise_for_status()
                stored += r.json()["stored"]

        t0 = time.perf_counter()
        await asyncio.gather(*(send(*j) for j in jobs))
        return latencies, stored, time.perf_counter() - t0


def _bare(url: str, workers: int, hours: float) -> tuple[list[float], int, float]:
    """The same batches into a bare table by psycopg, one transaction per batch."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE bare_points (id bigserial PRIMARY KEY, patrol_id int, at timestamptz,"
            " lon float8, lat float8, accuracy_m float8, UNIQUE (patrol_id, at))"
        )
        conn.commit()
        begin = datetime.now(UTC) - timedelta(hours=hours)
        latencies: list[float] = []
        stored = 0
        t0 = time.perf_counter()
        for w in range(workers):
            for batch in _batches(w, begin, hours):
                s = time.perf_counter()
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO bare_points (patrol_id, at, lon, lat, accuracy_m)"
                        " VALUES (%s, %s, %s, %s, NULL)",
                        [
                            (w, datetime.fromtimestamp(p["t"] / 1000, UTC), p["lon"], p["lat"])
                            for p in batch
                        ],
                    )
                conn.commit()
                latencies.append(time.perf_counter() - s)
                stored += len(batch)
        return latencies, stored, time.perf_counter() - t0


def _p99(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.99) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=200)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    load = os.getloadavg()
    name, url = _create_db()
    proc = None
    try:
        month = date.today().replace(day=1)
        tokens, admin_token = _prepare(url, args.workers, month)
        port = _free_port()
        env = {
            **os.environ,
            "CIVGRID_DATABASE_URL": url,
            "CIVGRID_SWEEP_IN_PROCESS": "false",
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "civgrid.web.app:create_app",
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(400):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        lat, stored, wall = asyncio.run(_upload(base, url, tokens, args.hours, args.concurrency))
        bare_lat, bare_stored, bare_wall = _bare(url, args.workers, args.hours)
        month_ms = []
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(5):
                t0 = time.perf_counter()
                r = client.get(
                    f"/api/v1/patrols/month?month={month:%Y-%m}&prefix=441900",
                    headers={"Authorization": f"Bearer {admin_token}"},
                )
                r.raise_for_status()
                month_ms.append((time.perf_counter() - t0) * 1000)
            month_rows = len(r.json())
        result = {
            "workers": args.workers,
            "hours": args.hours,
            "batches": len(lat),
            "points": stored,
            "points_per_s": round(stored / wall, 1),
            "p50_batch_ms": round(statistics.median(lat) * 1000, 1),
            "p99_batch_ms": round(_p99(lat) * 1000, 1),
            "bare_points_per_s": round(bare_stored / bare_wall, 1),
            "bare_p99_batch_ms": round(_p99(bare_lat) * 1000, 1),
            "ratio": round((stored / wall) / (bare_stored / bare_wall), 3),
            "month_table_rows": month_rows,
            "month_table_median_ms": round(statistics.median(month_ms), 1),
            "loadavg_before": [round(x, 2) for x in load],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(
            f"full: {result['points_per_s']} points/s, p99 {result['p99_batch_ms']} ms per batch; "
            f"bare insert: {result['bare_points_per_s']} points/s; ratio {result['ratio']}; "
            f"month table for the county ({month_rows} rows): {result['month_table_median_ms']} ms"
        )
        print(json.dumps(result))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        _drop_db(name)


if __name__ == "__main__":
    main()
