"""Patrol uploads over HTTP on PostgreSQL, against a bare insert of the same points.

Full pipeline (the real app under uvicorn, ``--server-workers`` processes): N workers each start
a patrol, then upload their positions (one per 10 s over ``--hours``) in batches of 60 through
``POST /api/v1/patrols/{id}/points``: bearer-token auth, the patrol's owner, idempotency key,
no-time / future / far-outside / speed checks, the insert that skips stored times, the batch
row, the patrol's counters, one commit. The batches go out as the phones would send them: the
first batch of every worker, then the second, …, ``--concurrency`` requests at a time.
Reference, same run, same database: the same batches, at the same concurrency, inserted by
psycopg into a bare table with the same columns and unique key, one statement and one
transaction per batch, with no HTTP, auth or checks.

Then a month's patrol table for the county (``GET /api/v1/patrols/month``) over 28 daily
summaries for every worker, and with ``--end`` every patrol ended (its track summarised).

The requests are sent by a minimal HTTP/1.1 client over keep-alive connections (bodies built
just before they are sent): a general client such as httpx spends about a millisecond of CPU
per request, which on a small machine is taken from the server under test. The CPU each
process used (server, PostgreSQL backends, this client) is read from ``/proc`` and reported
per batch, a figure that depends less on what else runs on the machine than the rates do.

Run (the issue's size, 1,000 workers × a day = 8.64 M points):
``.venv/bin/python bench/patrols.py [--workers 1000] [--hours 24] [--concurrency 16]
[--server-workers 2] [--pg URL]``; PostgreSQL at ``--pg``, default CIVGRID_BENCH_PG or
postgres@127.0.0.1:5432 (a scratch database is created there and dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._proc import cpu_ticks, process_tree, serve  # noqa: E402

PG = os.environ.get("CIVGRID_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TICK = os.sysconf("SC_CLK_TCK")
VILLAGE = "441900101002"
LON, LAT = 113.78, 23.09
BATCH = 60
BENCH_PASSWORD = "bench-" + uuid.uuid4().hex  # a throwaway database's accounts
BARE_INSERT = (
    "INSERT INTO bare_points (patrol_id, at, lon, lat, accuracy_m)"
    " SELECT %s, p.at, p.lon, p.lat, NULL"
    " FROM unnest(%s::timestamptz[], %s::float8[], %s::float8[]) AS p (at, lon, lat)"
    " ON CONFLICT (patrol_id, at) DO NOTHING"
)

Point = tuple[float, float, float]  # epoch ms, lon, lat
Job = tuple[int, int, int]  # worker, patrol id, batch number
L = TypeVar("L")  # a lane: one connection
R = TypeVar("R")  # a prepared request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_db(server: str) -> tuple[str, str]:
    name = f"t22_bench_{uuid.uuid4().hex[:8]}"
    eng = create_engine(server, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return name, server.rsplit("/", 1)[0] + "/" + name


def _drop_db(server: str, name: str) -> None:
    eng = create_engine(server, isolation_level="AUTOCOMMIT")
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
        expires = datetime.now(UTC) + timedelta(days=2)
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


def _batch(worker: int, k: int, begin_ms: float) -> list[Point]:
    """Batch ``k`` of a worker's positions: one per 10 s, back and forth along a 1.5 km street."""
    lat = LAT + 0.001 + (worker % 100) / 11_000
    out = []
    for i in range(k * BATCH, (k + 1) * BATCH):
        x = i * 12 % 3000
        out.append((begin_ms + 10_000 * i, LON + 0.001 + min(x, 3000 - x) / 102_000, lat))
    return out


def _jobs(patrol_ids: list[int], batches: int) -> Iterator[Job]:
    """Every worker's first batch, then every worker's second, … (as the phones send them)."""
    for k in range(batches):
        for w, pid in enumerate(patrol_ids):
            yield w, pid, k


def _body(key: str, points: list[Point]) -> bytes:
    pts = ",".join(f'{{"t":{t:.0f},"lon":{lon:.7f},"lat":{lat:.7f}}}' for t, lon, lat in points)
    return f'{{"key":"{key}","points":[{pts}]}}'.encode()


class _Http:
    """One keep-alive HTTP/1.1 connection that sends a request and reads its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Http:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def _drain(
    jobs: Iterator[Job],
    lanes: list[L],
    prepare: Callable[[Job], R],
    send: Callable[[L, R], Awaitable[int]],
    cpu: _Cpu,
) -> tuple[list[float], int, float, dict[str, float]]:
    """Run every job, one per lane at a time: latencies (s), points stored, wall time (s), CPU
    ms per job."""
    latencies: list[float] = []
    stored = 0

    async def run(lane: L) -> None:
        nonlocal stored
        for job in jobs:  # a shared iterator: each job is taken by one lane
            request = prepare(job)
            t0 = time.perf_counter()
            n = await send(lane, request)
            latencies.append(time.perf_counter() - t0)
            stored += n  # not ``stored += await …``: that reads ``stored`` before awaiting

    cpu.begin()
    t0 = time.perf_counter()
    await asyncio.gather(*(run(lane) for lane in lanes))
    wall = time.perf_counter() - t0
    return latencies, stored, wall, cpu.per_batch_ms(len(latencies))


async def _upload(
    port: int,
    tokens: list[str],
    patrol_ids: list[int],
    begin_ms: float,
    batches: int,
    conc: int,
    cpu: _Cpu,
) -> tuple[list[float], int, float, dict[str, float]]:
    """Send every batch over HTTP: latencies (s), points stored, wall time (s)."""

    def prepare(job: Job) -> tuple[str, str, bytes]:
        w, pid, k = job
        body = _body(f"{pid}-{k}", _batch(w, k, begin_ms))
        return f"/api/v1/patrols/{pid}/points", tokens[w], body

    async def send(http: _Http, request: tuple[str, str, bytes]) -> int:
        status, answer = await http.post(*request)
        if status != 200:
            raise RuntimeError(f"{request[0]}: HTTP {status} {answer[:300]!r}")
        return int(json.loads(answer)["stored"])

    conns = [await _Http.open(port) for _ in range(conc)]
    try:
        return await _drain(_jobs(patrol_ids, batches), conns, prepare, send, cpu)
    finally:
        for http in conns:
            http.close()


async def _bare(
    url: str, workers: int, begin_ms: float, batches: int, conc: int
) -> tuple[list[float], int, float, dict[str, float]]:
    """The same batches into a bare table by psycopg, one statement and transaction each."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE bare_points (id bigserial PRIMARY KEY, patrol_id int, at timestamptz,"
            " lon float8, lat float8, accuracy_m float8, UNIQUE (patrol_id, at))"
        )

    def prepare(job: Job) -> tuple[int, list[datetime], list[float], list[float]]:
        w, _, k = job
        pts = _batch(w, k, begin_ms)
        ats = [datetime.fromtimestamp(t / 1000, UTC) for t, _, _ in pts]
        return w, ats, [p[1] for p in pts], [p[2] for p in pts]

    async def send(conn: psycopg.AsyncConnection[object], params: tuple[object, ...]) -> int:
        cur = await conn.execute(BARE_INSERT, params)
        await conn.commit()
        return cur.rowcount

    conns = [await psycopg.AsyncConnection.connect(dsn) for _ in range(conc)]
    cpu = _Cpu(url, None)
    try:
        return await _drain(_jobs(list(range(workers)), batches), conns, prepare, send, cpu)
    finally:
        for conn in conns:
            await conn.close()


async def _post_each(port: int, requests: list[tuple[str, str]], conc: int) -> list[bytes]:
    """POST with no body to each (path, token), ``conc`` at a time; the answers, in order."""
    answers: dict[int, bytes] = {}
    todo = iter(enumerate(requests))

    async def lane(http: _Http) -> None:
        for i, (path, token) in todo:
            status, answers[i] = await http.post(path, token, b"")
            if status >= 300:
                raise RuntimeError(f"{path}: HTTP {status} {answers[i][:300]!r}")

    conns = [await _Http.open(port) for _ in range(conc)]
    try:
        await asyncio.gather(*(lane(http) for http in conns))
    finally:
        for http in conns:
            http.close()
    return [answers[i] for i in range(len(requests))]


def _start_patrols(port: int, url: str, tokens: list[str], hours: float) -> tuple[list[int], float]:
    """One open patrol per worker, begun ``hours`` ago (so that its points lie in the past)."""
    answers = asyncio.run(_post_each(port, [("/api/v1/patrols", t) for t in tokens], 8))
    ids = [int(json.loads(a)["id"]) for a in answers]
    begin = datetime.now(UTC) - timedelta(hours=hours)
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("UPDATE patrols SET started_at = :b"), {"b": begin - timedelta(seconds=30)})
    eng.dispose()
    return ids, begin.timestamp() * 1000


def _end_patrols(port: int, tokens: list[str], ids: list[int], conc: int) -> float:
    """End every patrol (its track summarised): the wall time (s)."""
    t0 = time.perf_counter()
    ends = [(f"/api/v1/patrols/{pid}/end", t) for pid, t in zip(ids, tokens, strict=True)]
    asyncio.run(_post_each(port, ends, conc))
    return time.perf_counter() - t0


def _month_table(base: str, month: date, admin_token: str) -> tuple[list[float], int]:
    ms = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for _ in range(5):
            t0 = time.perf_counter()
            r = client.get(
                f"/api/v1/patrols/month?month={month:%Y-%m}&prefix=441900",
                headers={"Authorization": f"Bearer {admin_token}"},
            )
            r.raise_for_status()
            ms.append((time.perf_counter() - t0) * 1000)
    return ms, len(r.json())


class _Cpu:
    """CPU seconds used over a span by the server's processes, the database's backends (those
    still open at its end) and this process."""

    def __init__(self, url: str, server: subprocess.Popen[bytes] | None) -> None:
        self.url, self.server = url, server
        self.start: dict[str, float] = {}

    def _backends(self) -> dict[int, int]:
        eng = create_engine(self.url)
        with eng.connect() as c:
            pids = c.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            out = {p: cpu_ticks(p) for p in pids}
        eng.dispose()
        return out

    def _now(self) -> dict[str, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        server = process_tree(self.server.pid) if self.server is not None else []
        return {
            "server": sum(cpu_ticks(p) for p in server) / TICK,
            "client": me.ru_utime + me.ru_stime,
        }

    def begin(self) -> None:
        self.start, self.start_pg = self._now(), self._backends()

    def per_batch_ms(self, batches: int) -> dict[str, float]:
        """CPU ms per batch since ``begin``."""
        end, end_pg = self._now(), self._backends()
        used = {k: end[k] - self.start[k] for k in end}
        used["postgres"] = sum(t - self.start_pg.get(p, 0) for p, t in end_pg.items())
        used["postgres"] /= TICK
        return {k: round(v * 1000 / max(batches, 1), 2) for k, v in used.items()}


def _serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CIVGRID_DATABASE_URL": url,
        "CIVGRID_SWEEP_IN_PROCESS": "false",
        "PYTHONPATH": str(ROOT),
    }
    return serve("civgrid.web.app:create_app", port, env, workers=workers)


def _p99(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.99) - 1)]


def _ms(x: float) -> float:
    return round(x * 1000, 1)


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1000, help="patrolling workers")
    ap.add_argument("--hours", type=float, default=24.0, help="of positions per worker")
    ap.add_argument("--concurrency", type=int, default=16, help="requests at a time")
    ap.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--end", action="store_true", help="also end every patrol (summaries)")
    ap.add_argument("--pg", default=PG, help="PostgreSQL server URL (a scratch database)")
    args = ap.parse_args()
    batches = int(args.hours * 360) // BATCH
    load = _loadavg()
    t_run = time.perf_counter()
    name, url = _create_db(args.pg)
    proc = None
    try:
        month = date.today().replace(day=1)
        tokens, admin_token = _prepare(url, args.workers, month)
        port = _free_port()
        proc = _serve(url, port, args.server_workers)
        base = f"http://127.0.0.1:{port}"
        ids, begin_ms = _start_patrols(port, url, tokens, args.hours)
        setup_s = time.perf_counter() - t_run
        lat, stored, wall, full_cpu = asyncio.run(
            _upload(port, tokens, ids, begin_ms, batches, args.concurrency, _Cpu(url, proc))
        )
        load_full = _loadavg()
        bare_lat, bare_stored, bare_wall, bare_cpu = asyncio.run(
            _bare(url, args.workers, begin_ms, batches, args.concurrency)
        )
        month_ms, month_rows = _month_table(base, month, admin_token)
        end_s = _end_patrols(port, tokens, ids, args.server_workers) if args.end else None
        rate, bare_rate = stored / wall, bare_stored / bare_wall
        result = {
            "workers": args.workers,
            "hours": args.hours,
            "concurrency": args.concurrency,
            "server_workers": args.server_workers,
            "batches": len(lat),
            "points": stored,
            "points_per_s": round(rate, 1),
            "p50_batch_ms": _ms(statistics.median(lat)),
            "p99_batch_ms": _ms(_p99(lat)),
            "cpu_ms_per_batch": full_cpu,
            "bare_points": bare_stored,
            "bare_points_per_s": round(bare_rate, 1),
            "bare_p99_batch_ms": _ms(_p99(bare_lat)),
            "bare_cpu_ms_per_batch": bare_cpu,
            "ratio": round(rate / bare_rate, 3),
            "month_table_rows": month_rows,
            "month_table_median_ms": round(statistics.median(month_ms), 1),
            "end_ms_per_patrol": _ms(end_s / len(ids)) if end_s is not None else None,
            "setup_s": round(setup_s),
            "upload_s": round(wall),
            "bare_s": round(bare_wall),
            "run_s": round(time.perf_counter() - t_run),
            "loadavg_before": load,
            "loadavg_after_upload": load_full,
            "loadavg_after": _loadavg(),
        }
        print(
            f"full: {result['points_per_s']} points/s, p99 {result['p99_batch_ms']} ms per batch"
            f" (CPU per batch: {full_cpu}); bare insert: {result['bare_points_per_s']} points/s;"
            f" ratio {result['ratio']}; month table for the county ({month_rows} rows):"
            f" {result['month_table_median_ms']} ms"
        )
        print(json.dumps(result))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        _drop_db(args.pg, name)


if __name__ == "__main__":
    main()
