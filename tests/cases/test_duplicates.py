"""The likely-duplicate search at a crowded spot: the nearest live cases, in order, and cheaply.

On PostgreSQL the search reads the cases nearest first from ``ix_cases_nearby`` (migration
0011); on SQLite it sorts every candidate in a bounding box. Both must give the same answer.
"""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from civgrid.cases import actions
from civgrid.cases.duplicates import KY, Near, duplicates_query, find_duplicates
from tests.conftest import BACKEND


def _moved(lon: float, lat: float, metres: float, bearing: float) -> tuple[float, float]:
    """The point ``metres`` away at ``bearing`` (radians from east), on the local plane."""
    kx = KY * math.cos(math.radians(lat))
    return lon + metres * math.cos(bearing) / kx, lat + metres * math.sin(bearing) / KY


@pytest.fixture
def crowded(db: Session, world):  # type: ignore[no-untyped-def]
    """36 reports around the world's point, 2 m to 89.5 m away on distinct rings, some voided.

    Returns [(case, distance in metres, live)], nearest first.
    """
    rng = random.Random(20261203)
    spots = []
    for i in range(36):
        metres = 2.0 + 2.5 * i
        lon, lat = _moved(world.lon, world.lat, metres, rng.uniform(0, 2 * math.pi))
        case = world.report(lon=lon, lat=lat, description=f"积水 {i}")
        live = i % 7 != 3
        if not live:
            actions.void_case(db, case, actor=world.dispatcher, reason="test report")
        spots.append((case, metres, live))
    return spots


def test_a_crowded_spot_gives_the_nearest_live_cases_in_order(db: Session, world, crowded) -> None:  # type: ignore[no-untyped-def]
    within = [(c, m) for c, m, live in crowded if live and m <= 50]
    assert len(within) > 10  # more than the search returns
    found = find_duplicates(
        db, category_id=world.category.id, lon=world.lon, lat=world.lat, limit=10
    )
    assert [d.number for d in found] == [c.number for c, _ in within[:10]]
    for d, (_, metres) in zip(found, within, strict=False):
        assert d.distance_m == pytest.approx(metres, rel=0.005)
    every = find_duplicates(
        db, category_id=world.category.id, lon=world.lon, lat=world.lat, limit=100
    )
    assert [d.number for d in every] == [c.number for c, _ in within]  # the radius bounds it
    narrow = find_duplicates(
        db, category_id=world.category.id, lon=world.lon, lat=world.lat, radius_m=10, limit=100
    )
    assert [d.number for d in narrow] == [c.number for c, m in within if m <= 10]
    one_out = find_duplicates(
        db,
        category_id=world.category.id,
        lon=world.lon,
        lat=world.lat,
        exclude_id=within[0][0].id,
        limit=3,
    )
    assert [d.number for d in one_out] == [c.number for c, _ in within[1:4]]


def test_a_new_report_at_the_spot_is_offered_the_nearest(db: Session, world, crowded) -> None:  # type: ignore[no-untyped-def]
    """The intake's own search (in its writing statement on PostgreSQL) agrees."""
    reported = world.reported(description="又一处积水", duplicates=5)
    nearest = [c.number for c, m, live in crowded if live and m <= 50][:5]
    assert [d.number for d in reported.likely_duplicates] == nearest


@pytest.mark.skipif(BACKEND != "postgresql", reason="the GiST index is PostgreSQL's")
def test_postgresql_reads_the_nearest_first_from_the_index(db: Session, world, crowded) -> None:  # type: ignore[no-untyped-def]
    """The query spells the indexed expression as migration 0011 wrote it, so the index can
    hand the cases out in the order of their distance (no sort of the candidates)."""
    near = Near.of(world.category.id, world.lon, world.lat, limit=10)
    query = duplicates_query(postgresql=True).params(**near.params())
    sql = query.compile(dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True})
    conn = db.connection()
    # with sorting and sequential scans priced out, only the index's ordering is left
    conn.execute(text("SET LOCAL enable_sort = off"))
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
    inner = plan.split("Limit", 1)[1]
    assert "Index Scan using ix_cases_nearby" in inner and "Order By:" in inner, plan
    assert "Sort" not in inner, plan
