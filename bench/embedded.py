"""The embedded default against PostgreSQL: the same mixed load on SQLite and PostgreSQL.

Each database gets the demo township (migrated, ``load_demo``) and the real app under uvicorn
(one worker, as ``make run``). Then ``bench/_mixed_load.py`` drives it from this process for
``--seconds``: threads reporting through the API, the portal form and Open311, one reporting,
registering and dispatching, and the rest reading pages (board, portal, directory, Open311
list, the API's case list). Reported: requests/s, p50 and p99 over every request, errors
(any unexpected status, timeout or connection error) and cases acknowledged but missing
afterwards. The reference is PostgreSQL in the same run: the ratio is SQLite/PostgreSQL.

The load generator is Python (httpx, in threads) and shares the CPU with the server and
PostgreSQL: the absolute figures are the machine's, the ratio is the point.

Run: ``.venv/bin/python bench/embedded.py [--seconds 15] [--threads 8]`` (PostgreSQL at
CIVGRID_BENCH_PG, default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._mixed_load import MixedLoad, Outcome, target  # noqa: E402
from bench.intake import ROOT, _create_db, _drop_db, _free_port, _serve  # noqa: E402


def _prepare(url: str) -> None:
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import make_engine
    from civgrid.demo import load_demo

    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        load_demo(db)
    engine.dispose()


def _missing(url: str, numbers: list[str]) -> int:
    from civgrid.cases.models import Case
    from civgrid.db.session import make_engine

    engine = make_engine(url)
    with Session(engine) as db:
        found = set(db.scalars(select(Case.number).where(Case.number.in_(numbers))))
    engine.dispose()
    return len(set(numbers) - found)


def run_one(url: str, seconds: float, threads: int) -> tuple[Outcome, int]:
    """Serve ``url``'s database and drive the mixed load; (what happened, cases missing)."""
    from civgrid.config import get_settings
    from civgrid.db.session import make_engine

    os.environ["CIVGRID_DATABASE_URL"] = url
    os.environ["CIVGRID_DATA_DIR"] = str(ROOT / "var" / "bench")
    get_settings.cache_clear()
    _prepare(url)
    env = {
        **os.environ,
        "CIVGRID_DATABASE_URL": url,
        "CIVGRID_SWEEP_IN_PROCESS": "false",
        "CIVGRID_DATA_DIR": str(ROOT / "var" / "bench"),
        "CIVGRID_PORTAL_MAX_PER_IP_HOUR": "100000000",  # every report comes from 127.0.0.1
        "PYTHONPATH": str(ROOT),
    }
    port = _free_port()
    server = _serve("civgrid.web.app:create_app", port, env, 1)
    try:
        engine = make_engine(url)
        with Session(engine) as db:
            t = target(f"http://127.0.0.1:{port}", db)
        engine.dispose()
        MixedLoad(t).run(1.0, threads)  # warm up
        done = MixedLoad(t).run(seconds, threads)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return done, _missing(url, done.numbers)


def _line(label: str, o: Outcome, missing: int) -> str:
    return (
        f"{label:<12}{o.rps:8.1f} req/s  p50 {o.percentile(50):7.1f} ms  "
        f"p99 {o.percentile(99):7.1f} ms  requests {o.requests}  errors {len(o.errors)}  "
        f"cases acknowledged {len(o.numbers)}, missing {missing}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'embedded.sqlite3'}"
        results["sqlite"] = run_one(sqlite_url, args.seconds, args.threads)
    name, pg_url = _create_db()
    try:
        results["postgresql"] = run_one(pg_url, args.seconds, args.threads)
    finally:
        _drop_db(name)
    load_after = os.getloadavg()[0]

    lite, lite_missing = results["sqlite"]
    pg, pg_missing = results["postgresql"]
    print(
        f"threads: {args.threads}, {args.seconds:g} s each, one uvicorn worker, "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(_line("SQLite:", lite, lite_missing))
    print(_line("PostgreSQL:", pg, pg_missing))
    for label, o in (("SQLite", lite), ("PostgreSQL", pg)):
        for e in o.errors[:5]:
            print(f"  {label} error: {e}")
    print(f"ratio SQLite/PostgreSQL: {lite.rps / pg.rps:.2f} (requests/s)")
    print(
        json.dumps(
            {
                "bench": "embedded",
                "threads": args.threads,
                "seconds": args.seconds,
                "sqlite_rps": round(lite.rps, 1),
                "sqlite_p50_ms": round(lite.percentile(50), 1),
                "sqlite_p99_ms": round(lite.percentile(99), 1),
                "sqlite_errors": len(lite.errors),
                "sqlite_missing": lite_missing,
                "postgresql_rps": round(pg.rps, 1),
                "postgresql_p50_ms": round(pg.percentile(50), 1),
                "postgresql_p99_ms": round(pg.percentile(99), 1),
                "postgresql_errors": len(pg.errors),
                "postgresql_missing": pg_missing,
                "ratio": round(lite.rps / pg.rps, 3),
                "load_average": round(load_before, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
