"""The benchmarks' replicated cases are what write_bulk writes for the same scripts moved there.

``bench._replicate`` copies template cases to other grids with set-based SQL (PostgreSQL). A
copy must equal, column for column, what ``write_bulk`` (itself checked against the real
actions in test_history.py) writes for the template's script reported at the moved point:
the target's grid, village and township, the routing suggestion there, the same instants
and deadlines. Only the ids and the numbers differ, and those follow the counters.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import pytest
from shapely.geometry import box
from sqlalchemy import func, select

from bench._replicate import Target, replicate
from civgrid.cases import history
from civgrid.cases.history import Cast, Script
from civgrid.cases.models import Case, CaseNumberCounter
from civgrid.cases.newcase import number_prefix
from civgrid.catalogue.actions import add_routing_rule
from civgrid.grids.actions import GridDraft, create_grid
from tests.cases import factories
from tests.cases.conftest import World, png_bytes
from tests.cases.test_history import T0, _rows
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="the copies are SQL of PostgreSQL")
PHOTO = png_bytes((20, 120, 40))
# Target grids the shape of the world's: same township other village, another township (its
# own routing rule), and that township's other village.
TARGETS = (("441900101200", 0.02, 0.0), ("441900102200", 0.0, 0.02), ("441900102201", 0.02, 0.02))


def planned(world: World) -> list[Script]:
    """About 200 cases over two months, every branch (self-handled, rework, open at the end)."""
    rng = random.Random(20)
    return list(
        history.plan_history(
            rng,
            start=T0 - timedelta(days=60),
            end=T0,
            places=[history.Place(world.lon, world.lat)],
            categories=[(world.category.id, 1.0)],
            per_day=3.3,
            departments={world.category.id: "handler"},
            self_handle=frozenset({world.category.id}),
        )
    )


def moved(scripts: list[Script], dlon: float, dlat: float) -> list[Script]:
    return [
        Script(
            s.category_id, s.lon + dlon, s.lat + dlat, s.at, s.by, s.description, s.source, s.moves
        )
        for s in scripts
    ]


def cases_in(world: World, grid: str, ids: set[int] | None = None) -> list[Case]:
    q = select(Case).where(Case.grid_code == grid).order_by(Case.reported_at, Case.id)
    return [c for c in world.db.scalars(q) if ids is None or c.id in ids]


def versions(cases: list[Case]) -> list[int]:
    return [c.version for c in cases]


def test_a_copy_is_what_write_bulk_writes_at_the_target(world: World, make_user: Any) -> None:
    db = world.db
    add_routing_rule(
        db,
        department_code=world.dept2.code,
        major_code="GT1",
        division_prefix="441900102",
        actor=None,
    )
    half = factories.HALF
    grids = {}
    for village, dx, dy in TARGETS:
        square = box(
            world.lon + dx - half,
            world.lat + dy - half,
            world.lon + dx + half,
            world.lat + dy + half,
        )
        grids[village] = (
            create_grid(db, GridDraft(village, square, "目标网格"), actor=None).code,
            dx,
            dy,
        )
    cast = Cast(
        {
            "worker": make_user("grid_worker", ("division", "4419")),
            "dispatcher": make_user("dispatcher", ("division", "4419")),
            "handler": world.handler,
        }
    )
    scripts = planned(world)
    assert len(scripts) >= 150
    first = (db.scalar(select(func.max(Case.id))) or 0) + 1
    assert history.write_bulk(db, scripts, cast, PHOTO) == len(scripts)
    templates = cases_in(world, world.grid_code)
    template_rows = _rows(world, templates)

    targets = [Target(world.grid_code, g, v, dx, dy) for v, (g, dx, dy) in grids.items()]
    done = replicate(db, first, targets)
    assert done.cases == 3 * len(scripts)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Case)) == 4 * len(scripts)
    assert _rows(world, cases_in(world, world.grid_code)) == template_rows  # left as they were
    copies = {g: cases_in(world, g) for g, _, _ in grids.values()}
    assert all(len(c) == len(scripts) for c in copies.values())
    # moved: what write_bulk writes for the moved scripts (routing and township included)
    for village, (grid, dx, dy) in grids.items():
        copied_ids = {c.id for c in copies[grid]}
        before = db.scalar(select(func.max(Case.id)))
        history.write_bulk(db, moved(scripts, dx, dy), cast, PHOTO)
        expected = [c for c in cases_in(world, grid) if c.id > before]
        got = cases_in(world, grid, copied_ids)
        assert _rows(world, got) == _rows(world, expected), village
        assert versions(got) == versions(expected)
        suggested = {c.department_code for c in got if c.dispatched_at is not None}
        assert suggested == {
            world.dept2.code if village.startswith("441900102") else world.dept.code
        }

    # numbers: the target township's day counter, no gaps or duplicates, counters kept
    every = list(db.scalars(select(Case)))
    numbers = [c.number for c in every]
    assert len(set(numbers)) == len(numbers)
    last: dict[str, int] = {}
    for c in every:
        prefix, seq = c.number.rsplit("-", 1)
        assert prefix == number_prefix(c.division_code[:9], c.reported_at)
        assert re.fullmatch(r"\d{5}", seq)
        last[prefix] = max(last.get(prefix, 0), int(seq))
    counters = dict(db.execute(select(CaseNumberCounter.prefix, CaseNumberCounter.last)).all())
    assert counters == last
    per_prefix: dict[str, int] = {}
    for c in every:
        per_prefix[c.number.rsplit("-", 1)[0]] = per_prefix.get(c.number.rsplit("-", 1)[0], 0) + 1
    assert per_prefix == last  # no gaps
