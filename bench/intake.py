"""Case intake over HTTP on PostgreSQL: the full pipeline against a bare FastAPI + psycopg insert.

Full pipeline (``POST /api/v1/cases`` on the real app under uvicorn): bearer-token auth, role
and jurisdiction, locate the point in the grids, likely-duplicate search, time limit and
deadline on the working calendar, numbered case row, first event, stage clock, one commit.
Reference, same run, same server settings (``bench/_bare_intake.py``): a bare FastAPI endpoint
that writes the same three rows (case, its first event, its stage clock) with psycopg in one
transaction, with no auth, locating, routing or calendar.

Both are driven by ``wrk`` (a C load generator, so that the generator takes little of the
CPU the servers share with it) with the same request bodies, one after the other, at the same
number of connections. Then the same reports through Open311 (``POST
/open311/v2/requests.json``, form-encoded, with an API key) on the full server: its ratio to
the API POST (goal ≥ 0.8). The per-request CPU of each server, of its PostgreSQL backends and of
wrk is read from ``/proc`` during the run.

Run: ``.venv/bin/python bench/intake.py [--seconds 8] [--connections 16] [--workers 1]``
(needs ``wrk``: ``apt-get install wrk``, or ``make bench``, which installs it; and PostgreSQL
at CIVGRID_BENCH_PG, default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._proc import cpu_ticks, process_tree, serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("CIVGRID_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TICK = os.sysconf("SC_CLK_TCK")
WRK_MISSING = (
    "bench/intake.py needs the wrk load generator, which is not installed.\n"
    "Install it with:  sudo apt-get install -y wrk   (Debian/Ubuntu)\n"
    "or run `make bench`, which installs it."
)

# wrk's script: the same bodies for both servers in turn, and a done() that prints one JSON line.
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
{auth}
local bodies = {{ {bodies} }}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class Result:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float  # per request: the uvicorn process(es)
    pg_cpu_ms: float  # per request: the PostgreSQL backends of the bench database
    wrk_cpu_ms: float  # per request: the load generator


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


def _prepare(url: str, points: int) -> tuple[list[dict[str, object]], list[str]]:
    """Migrate and load the demo township; report bodies at points inside the demo grids, as
    JSON for the API and as forms (with an issued key) for Open311."""
    os.environ["CIVGRID_DATABASE_URL"] = url
    from sqlalchemy.orm import Session

    from civgrid.cases.demo import demo_points, demo_report_target
    from civgrid.catalogue.models import Category
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import make_engine
    from civgrid.demo import load_demo
    from civgrid.open311.actions import issue_client

    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn, Session(bind=conn) as db:
        load_demo(db)
        category_id, _lon, _lat = demo_report_target(db)
        code = db.get(Category, category_id).code  # type: ignore[union-attr]
        spots = demo_points(db, points)
        _client, key = issue_client(db, name="bench", actor=None)
        db.commit()
    engine.dispose()
    forms = [
        urlencode(
            {
                "api_key": key,
                "service_code": code,
                "lat": lat,
                "long": lon,
                "description": "bench: rubbish by the road",
            }
        )
        for lon, lat in spots
    ]
    return [
        {
            "source": "hotline",
            "category_id": category_id,
            "lon": lon,
            "lat": lat,
            "description": "bench: rubbish by the road",
        }
        for lon, lat in spots
    ], forms


def _backends(url: str) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        pids = list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
    engine.dispose()
    return pids


def _wrk(url: str, script: Path, seconds: float, conns: int) -> dict[str, int]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    return dict(json.loads(line[4:]))


def _load(
    url: str, script: Path, seconds: float, conns: int, server: subprocess.Popen[bytes], db: str
) -> Result:
    """Warm up for 1 s, then measure for ``seconds`` at ``conns`` connections."""
    _wrk(url, script, 1, conns)
    backends = _backends(db)
    server_pids = process_tree(server.pid)
    before = {p: cpu_ticks(p) for p in server_pids + backends}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    w = _wrk(url, script, seconds, conns)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    backends_after = _backends(db)
    pg = sum(cpu_ticks(p) - before.get(p, 0) for p in backends_after)
    srv = sum(cpu_ticks(p) - before.get(p, 0) for p in server_pids)
    wrk_s = (after_children.ru_utime + after_children.ru_stime) - (
        children.ru_utime + children.ru_stime
    )
    n = max(w["requests"], 1)
    return Result(
        rps=w["requests"] / (w["duration_us"] / 1e6),
        p50_ms=w["p50_us"] / 1000,
        p90_ms=w["p90_us"] / 1000,
        p99_ms=w["p99_us"] / 1000,
        errors=w["status_errors"] + w["socket_errors"],
        server_cpu_ms=srv / TICK * 1000 / n,
        pg_cpu_ms=pg / TICK * 1000 / n,
        wrk_cpu_ms=wrk_s * 1000 / n,
    )


def _script(
    directory: Path,
    name: str,
    bodies: list[str],
    token: str,
    content_type: str = "application/json",
) -> Path:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    literals = ", ".join(f"[==[{b}]==]" for b in bodies)
    path = directory / f"{name}.lua"
    path.write_text(LUA.format(auth=auth, bodies=literals, content_type=content_type))
    return path


def _line(label: str, r: Result) -> str:
    return (
        f"{label:<15}{r.rps:8.1f} req/s  p50 {r.p50_ms:6.1f} ms  p90 {r.p90_ms:6.1f} ms  "
        f"p99 {r.p99_ms:6.1f} ms  errors {r.errors}  | CPU per request: server "
        f"{r.server_cpu_ms:.2f} ms, PostgreSQL {r.pg_cpu_ms:.2f} ms, wrk {r.wrk_cpu_ms:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, both servers")
    parser.add_argument("--points", type=int, default=24, help="report locations, in turn")
    parser.add_argument(
        "--threads", type=int, default=None, help="CIVGRID_THREADPOOL_SIZE, both servers"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_MISSING)

    load_before = os.getloadavg()[0]
    name, url = _create_db()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bodies, forms = _prepare(url, args.points)
        json_bodies = [json.dumps(b) for b in bodies]
        env = {
            **os.environ,
            "CIVGRID_DATABASE_URL": url,
            "CIVGRID_SWEEP_IN_PROCESS": "false",
            "CIVGRID_DATA_DIR": str(ROOT / "var" / "bench"),
            "PYTHONPATH": str(ROOT),
        }
        if args.threads is not None:
            env["CIVGRID_THREADPOOL_SIZE"] = str(args.threads)
        full_port, bare_port = _free_port(), _free_port()
        full_srv = serve("civgrid.web.app:create_app", full_port, env, workers=args.workers)
        procs.append(full_srv)
        bare_srv = serve("bench._bare_intake:create_app", bare_port, env, workers=args.workers)
        procs.append(bare_srv)
        token = httpx.post(
            f"http://127.0.0.1:{full_port}/api/v1/auth/token",
            data={"username": "dispatcher", "password": "civgrid-demo"},
            timeout=60,  # a password check on a loaded machine
        ).json()["access_token"]
        with tempfile.TemporaryDirectory() as tmp:
            full_lua = _script(Path(tmp), "full", json_bodies, token)
            bare_lua = _script(Path(tmp), "bare", json_bodies, "")
            form_type = "application/x-www-form-urlencoded"
            open311_lua = _script(Path(tmp), "open311", forms, "", form_type)
            full = _load(
                f"http://127.0.0.1:{full_port}/api/v1/cases",
                full_lua,
                args.seconds,
                args.connections,
                full_srv,
                url,
            )
            bare = _load(
                f"http://127.0.0.1:{bare_port}/cases",
                bare_lua,
                args.seconds,
                args.connections,
                bare_srv,
                url,
            )
            open311 = _load(
                f"http://127.0.0.1:{full_port}/open311/v2/requests.json",
                open311_lua,
                args.seconds,
                args.connections,
                full_srv,
                url,
            )
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        _drop_db(name)
    load_after = os.getloadavg()[0]

    print(
        f"connections: {args.connections}, {args.seconds:g} s each, uvicorn workers: "
        f"{args.workers}, threads per worker: {args.threads or 40}, "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(_line("full pipeline:", full))
    print(_line("bare insert:", bare))
    print(_line("Open311 POST:", open311))
    print(f"ratio full/bare: {full.rps / bare.rps:.2f}")
    print(f"ratio Open311/API POST: {open311.rps / full.rps:.2f}")
    print(
        json.dumps(
            {
                "bench": "intake",
                "connections": args.connections,
                "workers": args.workers,
                "threads": args.threads or 40,
                "full_rps": round(full.rps, 1),
                "bare_rps": round(bare.rps, 1),
                "ratio": round(full.rps / bare.rps, 3),
                "full_p50_ms": round(full.p50_ms, 1),
                "full_p99_ms": round(full.p99_ms, 1),
                "bare_p50_ms": round(bare.p50_ms, 1),
                "bare_p99_ms": round(bare.p99_ms, 1),
                "full_server_cpu_ms": round(full.server_cpu_ms, 2),
                "full_pg_cpu_ms": round(full.pg_cpu_ms, 2),
                "bare_server_cpu_ms": round(bare.server_cpu_ms, 2),
                "bare_pg_cpu_ms": round(bare.pg_cpu_ms, 2),
                "wrk_cpu_ms": round((full.wrk_cpu_ms + bare.wrk_cpu_ms) / 2, 3),
                "open311_rps": round(open311.rps, 1),
                "open311_p50_ms": round(open311.p50_ms, 1),
                "open311_p99_ms": round(open311.p99_ms, 1),
                "open311_server_cpu_ms": round(open311.server_cpu_ms, 2),
                "open311_vs_api": round(open311.rps / full.rps, 3),
                "load_average": round(load_before, 2),
                "load_average_after": round(load_after, 2),
                "errors": full.errors + bare.errors + open311.errors,
            }
        )
    )


if __name__ == "__main__":
    main()
