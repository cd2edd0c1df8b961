"""Case histories at province scale for the benchmarks (figures, scale), on PostgreSQL.

Millions of cases planned one by one (``civgrid.cases.history.write_bulk``: ``plan_report``,
the transition table, the calendar) would take days. Instead:

1. **Templates.** ``write_bulk`` writes a few tens of thousands of planned cases in a sample of
   *template grids* (each with as many cases as every grid of the target data set will have),
   exactly as the actions write them.
2. **Replicas.** Each template grid's cases are copied to the grids mapped to it by
   set-based ``INSERT … SELECT`` (``bench._replicate``), in order of report time, with new
   ids, the target grid's codes, the coordinates moved into it, and the same instants (so
   the clocks and deadlines the calendar computed stay right). At most a tenth of the cases
   are templates: their ids come first, the copies' after them.

Every benchmark grid is the same rectangle, so a case moved by the difference of two grids'
corners lies in the target grid where it lay in the template. The data is made once per
database and kept; a comment on the database records that it is complete.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from shapely.geometry import box, mapping
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

PG = os.environ.get("CIVGRID_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATA = Path(__file__).resolve().parent.parent / "civgrid" / "data" / "divisions"
PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway benchmark database's accounts)
# Cases written by write_bulk before replicating: enough for each template grid to hold a
# realistic mix of categories, branches and seasons over three years.
TEMPLATES = 50_000
# Up to this many cases, all are written by write_bulk (a couple of minutes).
DIRECT = 20_000


def database(name: str, fresh: bool) -> str:
    """The URL of benchmark database ``name``, created if missing (``fresh``: dropped first)."""
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or fresh:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG}/{name}"


def _marker(cases: int, grids: int) -> str:
    return f"civgrid bench cases={cases} grids={grids} complete"


def is_complete(url: str, cases: int, grids: int) -> bool:
    """Whether the database holds a finished data set of this size (its comment says so)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        comment = conn.scalar(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = current_database()"
            )
        )
    engine.dispose()
    return comment == _marker(cases, grids)


def mark_complete(url: str, cases: int, grids: int) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = conn.scalar(text("SELECT current_database()"))
        conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{_marker(cases, grids)}'"))
    engine.dispose()


@dataclass(frozen=True)
class GridBox:
    code: str
    village: str
    min_lon: float
    min_lat: float
    centre: tuple[float, float]


def make_grids(db: Session, count: int) -> list[GridBox]:
    """Equal rectangles tiling each village's cell of a lattice over Dongguan."""
    from civgrid.divisions.models import Division
    from civgrid.grids.models import Grid, GridKind

    villages = list(
        db.scalars(
            select(Division.code)
            .where(Division.code.startswith("4419"), func.length(Division.code) == 12)
            .order_by(Division.code)
        )
    )
    per = max(1, count // len(villages))
    side = int(len(villages) ** 0.5) + 1
    x0, y0, w, h = 113.5, 22.6, 0.7 / side, 0.5 / side
    rows, boxes = [], []
    k = int(per**0.5) + 1
    for i, village in enumerate(villages):
        vx, vy = x0 + (i % side) * w, y0 + (i // side) * h
        for j in range(per):
            gx, gy = vx + (j % k) * w / k, vy + (j // k) * h / k
            shape = box(gx, gy, gx + w / k, gy + h / k)
            code = f"{village}{j + 1:03d}"
            rows.append(
                {
                    "code": code,
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
            boxes.append(GridBox(code, village, gx, gy, shape.centroid.coords[0]))
    db.execute(insert(Grid.__table__), rows)  # type: ignore[arg-type]
    db.commit()
    return boxes


@dataclass
class World:
    """What the cases are written against: people, categories, grids."""

    cast: object  # civgrid.cases.history.Cast
    categories: list[int]
    grids: list[GridBox]


def load_base(db: Session, grids: int) -> World:
    """Divisions, departments, catalogue, routing, the bench's users and grids."""
    from civgrid.auth.actions import create_user
    from civgrid.auth.models import Role, ScopeKind
    from civgrid.cases import history
    from civgrid.catalogue.actions import add_routing_rule
    from civgrid.catalogue.models import Category
    from civgrid.demo import DEMO_ROUTING, load_catalogue_and_routing, load_departments
    from civgrid.divisions.importer import import_divisions

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
        ("leader", Role.GRID_LEADER),
    ):
        scope = (ScopeKind.ALL, "") if role == Role.ADMIN else (ScopeKind.DIVISION, "4419")
        users[name] = create_user(
            db,
            username=f"bench-{name}",
            password=PASSWORD,
            role=role,
            scopes=[scope],
            actor=None,
        )
    boxes = make_grids(db, grids)
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
    return World(cast, cats, boxes)


def write_histories(
    db: Session,
    world: World,
    grids: list[GridBox],
    cases: int,
    rng: random.Random,
    end: datetime,
) -> int:
    """About ``cases`` cases over the three years before ``end`` in ``grids``, by write_bulk."""
    from civgrid.cases import history
    from civgrid.cases.demo import demo_photo
    from civgrid.config import get_settings

    places = [history.Place(*g.centre, "supervisor", False) for g in grids]
    start = end - timedelta(days=3 * 365)
    zone = get_settings().tz
    days = (start + timedelta(days=i) for i in range(3 * 365))
    weight = sum(history.day_weight(d.astimezone(zone)) for d in days)
    scripts = history.plan_history(
        rng,
        start=start,
        end=end,
        places=places,
        categories=[(c, rng.uniform(0.5, 2)) for c in world.categories],
        per_day=cases / weight,  # so that about ``cases`` are planned in all
        departments=dict.fromkeys(world.categories, "admin"),
    )
    photo = demo_photo((90, 140, 60))
    batch: list[history.Script] = []
    written = 0
    cast: history.Cast = world.cast  # type: ignore[assignment]
    for script in scripts:
        batch.append(script)
        if len(batch) == 20_000:
            written += history.write_bulk(db, batch, cast, photo)
            batch = []
            print(f"  {written} cases …", flush=True)
    written += history.write_bulk(db, batch, cast, photo)
    return written


def template_map(grids: list[GridBox], cases: int, templates: int) -> dict[str, list[GridBox]]:
    """Template grid → the grids (itself first) its cases are copied to.

    The template grids are spread evenly over the grids in code order (so over townships),
    each standing for the block of grids that follows it.
    """
    count = max(1, min(len(grids), round(len(grids) * templates / max(cases, 1))))
    step = len(grids) / count
    starts = [int(i * step) for i in range(count)] + [len(grids)]
    return {grids[a].code: grids[a:b] for a, b in zip(starts, starts[1:], strict=False)}


@dataclass
class Generated:
    cases: int
    template_cases: int
    template_grids: int
    templates_s: float
    replicate_s: float
    rows: int
    index_s: float = 0.0


def generate(
    db: Session,
    world: World,
    cases: int,
    *,
    templates: int = TEMPLATES,
    seed: int = 25,
    end: datetime | None = None,
) -> Generated:
    """About ``cases`` cases over three years in all the world's grids; see the module doc."""
    from bench._replicate import Target, replicate
    from civgrid.cases.models import Case

    rng = random.Random(seed)  # noqa: S311  (benchmark data)
    end = end or datetime.now(UTC) - timedelta(hours=1)
    if cases <= DIRECT:
        templates = cases
    blocks = template_map(world.grids, cases, min(templates, max(cases // 10, DIRECT)))
    tpl_grids = [g for g in world.grids if g.code in blocks]
    share = len(tpl_grids) / len(world.grids)
    t = time.perf_counter()
    first = (db.scalar(select(func.max(Case.id))) or 0) + 1
    print(f"templates: {round(cases * share)} cases in {len(tpl_grids)} grids …", flush=True)
    written = write_histories(db, world, tpl_grids, round(cases * share), rng, end)
    templates_s = time.perf_counter() - t
    if len(tpl_grids) == len(world.grids):  # nothing to copy
        return Generated(written, written, len(tpl_grids), templates_s, 0.0, 0)
    by_code = {g.code: g for g in world.grids}
    targets = [
        Target(tpl, g.code, g.village, g.min_lon - t.min_lon, g.min_lat - t.min_lat)
        for tpl, block in blocks.items()
        for t in [by_code[tpl]]
        for g in block
        if g.code != tpl
    ]
    t = time.perf_counter()
    print(f"replicating to {len(targets)} grids …", flush=True)
    done = replicate(db, first, targets, fast=True)
    return Generated(
        written + done.cases,
        written,
        len(tpl_grids),
        templates_s,
        time.perf_counter() - t,
        done.rows,
        done.index_s,
    )


@dataclass
class Made:
    """A benchmark database: its URL, and how it was made this run (None: kept from before)."""

    url: str
    generated: Generated | None = None
    base_s: float = 0.0
    vacuum_s: float = 0.0


def use(url: str) -> None:
    """Point civgrid's settings and engine at ``url`` (before or after they were first used)."""
    os.environ["CIVGRID_DATABASE_URL"] = url
    from civgrid.config import get_settings
    from civgrid.db.session import get_engine, session_factory

    for cached in (get_settings, get_engine, session_factory):
        cached.cache_clear()


def ensure(name: str, cases: int, grids: int, *, fresh: bool = False) -> Made:
    """Database ``name`` with about ``cases`` cases in ``grids`` grids: kept if it is complete
    at that size (and migrated to the code's head, as a deployment would be), else (re)made.
    ``CIVGRID_DATABASE_URL`` points at it afterwards."""
    from civgrid.db.migrate import upgrade

    url = database(name, fresh)
    if is_complete(url, cases, grids):
        use(url)
        upgrade(url)
        return Made(url)
    if not fresh:  # another size, or a run that did not finish: start again
        url = database(name, True)
    use(url)
    upgrade(url)
    from civgrid.db.session import session_factory

    db = session_factory()()
    t = time.perf_counter()
    world = load_base(db, grids)
    made = Made(url, base_s=time.perf_counter() - t)
    made.generated = generate(db, world, cases)
    db.close()
    t = time.perf_counter()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for table in ("cases", "case_events", "case_clocks", "case_attachments"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    made.vacuum_s = time.perf_counter() - t
    mark_complete(url, cases, grids)
    return made


def main() -> None:
    """Make a benchmark database alone and report how fast: cases/s and rows/s per phase."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--db", default="civgrid_bench_cases")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("CIVGRID_DATA_DIR", f"/tmp/{args.db}")  # noqa: S108  (bench scratch)
    t = time.perf_counter()
    made = ensure(args.db, args.cases, args.grids, fresh=args.fresh)
    total_s = time.perf_counter() - t
    engine = create_engine(made.url)
    with engine.connect() as conn:
        counts = {
            table: conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in ("cases", "case_events", "case_clocks", "case_attachments")
        }
        size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    g = made.generated
    result: dict[str, object] = {"bench": "cases", **counts, "db_mb": round(size / 2**20)}
    if g is not None:
        result.update(
            total_s=round(total_s, 1),
            base_s=round(made.base_s, 1),
            template_cases=g.template_cases,
            template_grids=g.template_grids,
            templates_s=round(g.templates_s, 1),
            templates_cases_per_s=round(g.template_cases / max(g.templates_s, 1e-9), 1),
            replicate_s=round(g.replicate_s, 1),
            replicate_rows=g.rows,
            replicate_rows_per_s=round(g.rows / max(g.replicate_s, 1e-9)),
            index_s=round(g.index_s, 1),
            vacuum_analyze_s=round(made.vacuum_s, 1),
            cases_per_s=round(counts["cases"] / total_s, 1),
        )
    result["loadavg"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
