"""Command figures at scale, on PostgreSQL: rollups against the raw events, and reports.

A database of ``--cases`` cases over three years in ``--grids`` synthetic grids across the
villages of Dongguan (NBS codes 4419…), made by ``bench/_cases.py``: template cases written by
``civgrid.cases.history.write_bulk`` (the rows the real actions write), copied to the other
grids in SQL as the actions would write them there. Then, in the same run:

- the time to build the rollups from scratch, and the process's peak memory while building;
- p50 / p95 of the dashboard's indicators (every indicator of ``compute``) for a township,
  the county and the whole data set over the last complete quarter, from the rollups;
- the same indicators recomputed from the raw events (``source="raw"``): the reference, and
  the ratio raw / rollups;
- the time to render the county's quarterly report as PDF and as XLSX (the PDF also as the
  process's first, which loads WeasyPrint and the fonts).

The data is made once per database and kept (``--fresh`` remakes it), so the five runs the
benchmarks page asks for measure the queries on the same data.

    .venv/bin/python bench/figures.py [--cases 1000000] [--grids 10000] [--db civgrid_bench_figures]

10 M cases: ``--cases 10000000 --grids 10000``. ``--keep-rollups`` measures the reads on the
rollups an earlier run built (at 10 M a rebuild takes minutes: build once, then read five times);
``--raw-units township`` recomputes only the township from the raw events (the county's and the
whole data set's raw recomputation reads every case touched in the quarter, in Python).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _cases  # noqa: E402

TOWNSHIP, COUNTY, PROVINCE = "441900101", "441900", "44"


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
    parser.add_argument("--fresh", action="store_true", help="make the data again")
    parser.add_argument(
        "--keep-rollups",
        action="store_true",
        help="measure the reads on the rollups an earlier run built (no rebuild this run)",
    )
    parser.add_argument(
        "--raw-units",
        default="township,county,province",
        help="units whose indicators are also recomputed from the raw events (the reference)",
    )
    args = parser.parse_args()

    os.environ.setdefault("CIVGRID_DATA_DIR", f"/tmp/{args.db}")  # noqa: S108  (bench scratch)
    t = time.perf_counter()
    made = _cases.ensure(args.db, args.cases, args.grids, fresh=args.fresh)
    load_s = round(time.perf_counter() - t, 1) if made.generated else None
    from civgrid.cases.models import Case
    from civgrid.db.session import session_factory
    from civgrid.figures import report
    from civgrid.figures.actions import rebuild, rollup_size
    from civgrid.figures.periods import current
    from civgrid.figures.rollups import built_until
    from civgrid.figures.service import compute
    from civgrid.figures.units import unit_for

    db = session_factory()()
    have = db.scalar(select(func.count()).select_from(Case)) or 0
    events = db.scalar(text("SELECT count(*) FROM case_events"))

    rebuild_s = peak_mb = None
    if args.keep_rollups and built_until(db) is not None:
        rows = rollup_size(db)
    else:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        rows = rebuild(db).rows
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
        figures[kind] = {"rollup_p50_ms": pct(fast, 0.5), "rollup_p95_ms": pct(fast, 0.95)}
        if kind in args.raw_units.split(","):
            slow = timed(raw, args.raw_runs)
            figures[kind]["raw_p50_ms"] = pct(slow, 0.5)
            figures[kind]["ratio_rollup_to_raw"] = round(
                pct(fast, 0.5) / max(pct(slow, 0.5), 0.001), 4
            )
        print(f"{kind:9} {figures[kind]}", flush=True)

    county = unit_for(db, "county", COUNTY)
    t = time.perf_counter()
    built_report = report.build(db, county, quarter)
    build_s = time.perf_counter() - t
    # The process's first PDF also loads WeasyPrint and the fonts, which a server does at
    # start (civgrid.web.pdf.warm): timed apart, then the report as the server renders it.
    t = time.perf_counter()
    report.render_pdf(built_report)
    pdf_first_s = time.perf_counter() - t
    t = time.perf_counter()
    pdf = report.render_pdf(built_report)
    pdf_s = time.perf_counter() - t
    t = time.perf_counter()
    xlsx = report.render_xlsx(built_report)
    xlsx_s = time.perf_counter() - t
    print(
        f"county report: figures {build_s:.1f} s, PDF {pdf_s:.1f} s ({len(pdf)} B; the "
        f"process's first {pdf_first_s:.1f} s), "
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
        "rollup_rows": rows,
        "peak_rss_mb": peak_mb,
        **{f"{k}_{m}": v for k, d in figures.items() for m, v in d.items()},
        "report_figures_s": round(build_s, 2),
        "report_pdf_s": round(build_s + pdf_s, 2),
        "report_pdf_render_s": round(pdf_s, 2),
        "report_pdf_first_render_s": round(pdf_first_s, 2),
        "report_xlsx_s": round(build_s + xlsx_s, 2),
        "loadavg": os.getloadavg()[0],
    }
    db.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
