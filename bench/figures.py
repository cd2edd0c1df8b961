"""Command figures at scale, on PostgreSQL: rollups against the raw events, and reports.

A database of ``--cases`` cases over three years in ``--grids`` synthetic grids across the
villages of Dongguan (NBS codes 4419…), written by ``civgrid.cases.history.write_bulk`` (the
rows the real actions write). Then, in the same run:

- the time to build the rollups from scratch, and the process's peak memory while building;
- p50 / p95 of the dashboard's indicators (every indicator of ``compute``) for a township,
  the county and the whole data set over the last complete quarter, from the rollups;
- the same indicators recomputed from the raw events (``source="raw"``): the reference, and
  the ratio raw / rollups;
- the time to render the county's quarterly report as PDF and as XLSX.

The data is made once per database and kept (``--fresh`` remakes it), so the five runs the
benchmarks page asks for measure the queries on the same data.

    .venv/bin/python bench/figures.py [--cases 1000000] [--grids 10000] [--db civgrid_bench_figures]

10 M cases: ``--cases 10000000 --grids 10000`` (hours of generation on a small machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from shapely.geometry import box, mapping
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

PG = os.environ.get("CIVGRID_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATA = Path(__file__).resolve().parent.parent / "civgrid" / "data" / "divisions"
TOWNSHIP, COUNTY, PROVINCE = "441900101", "441900", "44"


def database(name: str, fresh: bool) -> str:
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or fresh:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG}/{name}"


def make_grids(db: Session, count: int, rng: random.Random) -> list[tuple[float, float]]:
    """Rectangles tiling each village's cell of a lattice over Dongguan; their centres."""
    from civgrid.divisions.models import Division
    from civgrid.grids.models import Grid, GridKind

    villages = list(
        db.scalars(
            select(Division.code).where(
                Division.code.startswith("4419"), func.length(Division.code) == 12
            )
        )
    )
    per = max(1, count // len(villages))
    side = int(len(villages) ** 0.5) + 1
    x0, y0, w, h = 113.5, 22.6, 0.7 / side, 0.5 / side
    rows, centres = [], []
    k = int(per**0.5) + 1
    for i, village in enumerate(villages):
        vx, vy = x0 + (i % side) * w, y0 + (i // side) * h
        for j in range(per):
            gx, gy = vx + (j % k) * w / k, vy + (j // k) * h / k
            shape = box(gx, gy, gx + w / k, gy + h / k)
            rows.append(
                {
                    "code": f"{village}{j + 1:03d}",
                    "name": f"网格{j + 1}",
                    "kind": GridKind.COMPREHENSIVE,
                    "level": 1,
                    "village_code": village,
                    "households": 400,
                    "population": 1200,
                    "area_m2": 1e5,
                    "valid_from": date(2023, 1, 1),
                    "version": 1,
                    "updated_at": datetime.now(UTC),
                    "geometry": json.dumps(mapping(shape)),
                    "min_lon": shape.bounds[0],
                    "min_lat": shape.bounds[1],
                    "max_lon": shape.bounds[2],
                    "max_lat": shape.bounds[3],
                }
            )
            centres.append(shape.centroid.coords[0])
    db.execute(insert(Grid.__table__), rows)  # type: ignore[arg-type]
    db.commit()
    return centres


def load(db: Session, cases: int, grids: int) -> float:
    """Divisions, departments, catalogue, routing, users, grids, then the cases; seconds."""
    from civgrid.auth.actions import create_user
    from civgrid.auth.models import Role, ScopeKind
    from civgrid.cases import history
    from civgrid.cases.demo import demo_photo
    from civgrid.catalogue.actions import add_routing_rule
    from civgrid.catalogue.models import Category
    from civgrid.demo import DEMO_ROUTING, load_catalogue_and_routing, load_departments
    from civgrid.divisions.importer import import_divisions

    t = time.perf_counter()
    import_divisions(db, DATA, prefix="4419", as_of=date(2023, 6, 30))
    load_departments(db)
    load_catalogue_and_routing(db)
    for major, dept in DEMO_ROUTING.items():
        add_routing_rule(
            db, department_code=dept, major_code=major, division_prefix="4419", actor=None
        )
    users = {}
    for name, role in (
        ("super", Role.SUPERVISOR),
        ("disp", Role.DISPATCHER),
        ("admin", Role.ADMIN),
    ):
        scope = (ScopeKind.ALL, "") if role == Role.ADMIN else (ScopeKind.DIVISION, "4419")
        users[name] = create_user(
            db,
            username=f"bench-{name}",
            password="bench-password-1",  # noqa: S106  (bench user)
            role=role,
            scopes=[scope],
            actor=None,
        )
    rng = random.Random(25)  # noqa: S311
    centres = make_grids(db, grids, rng)
    cats = list(
        db.scalars(
            select(Category.id)
            .where(Category.is_published, Category.is_major_emergency.is_(False))
            .limit(40)
        )
    )
    cast = history.Cast(
        {
            "worker": users["super"],
            "supervisor": users["super"],
            "dispatcher": users["disp"],
            "admin": users["admin"],
        }
    )
    places = [history.Place(x, y, "supervisor", False) for x, y in centres]
    now = datetime.now(UTC)
    scripts = history.plan_history(
        rng,
        start=now - timedelta(days=3 * 365),
        end=now - timedelta(hours=1),
        places=places,
        categories=[(c, rng.uniform(0.5, 2)) for c in cats],
        per_day=cases / (3 * 365),
        departments=dict.fromkeys(cats, "admin"),
    )
    photo = demo_photo((90, 140, 60))
    batch: list[history.Script] = []
    written = 0
    for script in scripts:
        batch.append(script)
        if len(batch) == 20_000:
            written += history.write_bulk(db, batch, cast, photo)
            batch = []
            print(f"  {written} cases …", flush=True)
    written += history.write_bulk(db, batch, cast, photo)
    print(f"  {written} cases written", flush=True)
    return time.perf_counter() - t


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--db", default="civgrid_bench_figures")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--raw-runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()

    url = database(args.db, args.fresh)
    os.environ["CIVGRID_DATABASE_URL"] = url
    os.environ.setdefault("CIVGRID_DATA_DIR", f"/tmp/{args.db}")  # noqa: S108  (bench scratch)
    from civgrid.cases.models import Case
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import session_factory
    from civgrid.figures import report
    from civgrid.figures.actions import rebuild
    from civgrid.figures.periods import current
    from civgrid.figures.service import compute, unit_for

    upgrade(url)
    db = session_factory()()
    have = db.scalar(select(func.count()).select_from(Case)) or 0
    load_s = None
    if not have:  # made once per database; --fresh remakes it
        print(f"generating {args.cases} cases in {args.grids} grids …", flush=True)
        load_s = round(load(db, args.cases, args.grids), 1)
        have = db.scalar(select(func.count()).select_from(Case)) or 0
    events = db.scalar(text("SELECT count(*) FROM case_events"))

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    built = rebuild(db)
    rebuild_s = round(time.perf_counter() - t, 1)
    peak_mb = round(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rss0) / 1024)
    db.execute(text("ANALYZE"))
    db.commit()

    quarter = current("quarter", date.today()).previous()
    figures: dict[str, dict[str, float]] = {}
    for kind, code in (("township", TOWNSHIP), ("county", COUNTY), ("province", PROVINCE)):

        def rolled(kind: str = kind, code: str = code) -> None:
            compute(db, unit_kind=kind, unit_code=code, period=quarter)

        def raw(kind: str = kind, code: str = code) -> None:
            compute(db, unit_kind=kind, unit_code=code, period=quarter, source="raw")

        fast = timed(rolled, args.runs)
        slow = timed(raw, args.raw_runs)
        figures[kind] = {
            "rollup_p50_ms": pct(fast, 0.5),
            "rollup_p95_ms": pct(fast, 0.95),
            "raw_p50_ms": pct(slow, 0.5),
            "ratio_rollup_to_raw": round(pct(fast, 0.5) / max(pct(slow, 0.5), 0.001), 4),
        }
        print(
            f"{kind:9} rollups p50 {figures[kind]['rollup_p50_ms']} ms p95 "
            f"{figures[kind]['rollup_p95_ms']} ms; raw p50 {figures[kind]['raw_p50_ms']} ms",
            flush=True,
        )

    county = unit_for(db, "county", COUNTY)
    t = time.perf_counter()
    built_report = report.build(db, county, quarter)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    pdf = report.render_pdf(built_report)
    pdf_s = time.perf_counter() - t
    t = time.perf_counter()
    xlsx = report.render_xlsx(built_report)
    xlsx_s = time.perf_counter() - t
    print(
        f"county report: figures {build_s:.1f} s, PDF {pdf_s:.1f} s ({len(pdf)} B), "
        f"XLSX {xlsx_s:.2f} s ({len(xlsx)} B)"
    )
    result = {
        "bench": "figures",
        "cases": have,
        "events": events,
        "grids": args.grids,
        "quarter": quarter.label,
        "load_s": load_s,
        "rollup_rebuild_s": rebuild_s,
        "rollup_rows": built.rows,
        "peak_rss_mb": peak_mb,
        **{f"{k}_{m}": v for k, d in figures.items() for m, v in d.items()},
        "report_figures_s": round(build_s, 2),
        "report_pdf_s": round(build_s + pdf_s, 2),
        "report_xlsx_s": round(build_s + xlsx_s, 2),
        "loadavg": os.getloadavg()[0],
    }
    db.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
