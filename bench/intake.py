"""Case intake over HTTP on PostgreSQL: the full pipeline against a bare FastAPI + psycopg insert.

Full pipeline (``POST /api/v1/cases`` on the real app under uvicorn): bearer-token auth, role
and jurisdiction, locate the point in the grids, routing suggestion, time limit and deadline on
the working calendar, numbered case row, first event, stage clock, one commit.
Reference, same run, same server settings: a bare FastAPI endpoint that inserts one case row
with psycopg and commits.

Both are driven by the same httpx async load generator at 16 connections.
Run: ``.venv/bin/python bench/intake.py [--seconds 8] [--connections 16]``
(needs PostgreSQL at CIVGRID_BENCH_PG, default postgres@127.0.0.1:5432).
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
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("CIVGRID_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_db() -> tuple[str, str]:
    name = f"civgrid_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG.rsplit("/", 1)[0] + f"/{name}"


def _drop_db(name: str) -> None:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _prepare(url: str) -> dict[str, object]:
    """Migrate and load the demo township; return a report body that lands inside a grid."""
    os.environ["CIVGRID_DATABASE_URL"] = url
    from civgrid.cases.demo import demo_report_target
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import make_engine
    from civgrid.demo import load_demo

    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as db:
            load_demo(db)
            category_id, lon, lat = demo_report_target(db)
    engine.dispose()
    return {
        "source": "hotline",
        "category_id": category_id,
        "lon": lon,
        "lat": lat,
        "description": "bench: rubbish by the road",
    }


def _serve(app: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


async def _load(
    url: str, body: dict[str, object], headers: dict[str, str], seconds: float, conns: int
) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, errors) of POSTs at ``conns`` concurrent connections."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(until: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                t0 = time.perf_counter()
                r = await client.post(url, json=body, headers=headers)
                if r.status_code >= 300:
                    errors += 1
                if record:
                    latencies.append(time.perf_counter() - t0)

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(conns)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(conns)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, both servers")
    args = parser.parse_args()

    name, url = _create_db()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        body = _prepare(url)
        env = {
            **os.environ,
            "CIVGRID_DATABASE_URL": url,
            "CIVGRID_SWEEP_IN_PROCESS": "false",
            "CIVGRID_DATA_DIR": str(ROOT / "var" / "bench"),
            "PYTHONPATH": str(ROOT),
        }
        full_port, bare_port = _free_port(), _free_port()
        procs.append(_serve("civgrid.web.app:create_app", full_port, env, args.workers))
        procs.append(_serve("bench._bare_intake:create_app", bare_port, env, args.workers))
        token = httpx.post(
            f"http://127.0.0.1:{full_port}/api/v1/auth/token",
            data={"username": "dispatcher", "password": "civgrid-demo"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        full = asyncio.run(
            _load(
                f"http://127.0.0.1:{full_port}/api/v1/cases",
                body,
                auth,
                args.seconds,
                args.connections,
            )
        )
        bare = asyncio.run(
            _load(f"http://127.0.0.1:{bare_port}/cases", body, {}, args.seconds, args.connections)
        )
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        _drop_db(name)

    print(f"connections: {args.connections}, {args.seconds:g} s each")
    print(
        f"full pipeline: {full[0]:8.1f} req/s  p50 {full[1]:6.1f} ms  p99 {full[2]:6.1f} ms"
        f"  errors {full[3]}"
    )
    print(
        f"bare insert:   {bare[0]:8.1f} req/s  p50 {bare[1]:6.1f} ms  p99 {bare[2]:6.1f} ms"
        f"  errors {bare[3]}"
    )
    print(f"ratio full/bare: {full[0] / bare[0]:.2f}")
    print(
        json.dumps(
            {
                "bench": "intake",
                "connections": args.connections,
                "full_req_per_s": round(full[0], 1),
                "bare_req_per_s": round(bare[0], 1),
                "ratio_vs_bare": round(full[0] / bare[0], 3),
                "full_p99_ms": round(full[2], 1),
                "bare_p99_ms": round(bare[2], 1),
                "errors": full[3] + bare[3],
            }
        )
    )


if __name__ == "__main__":
    main()
