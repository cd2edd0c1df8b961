"""The demo territory: deterministic, real village codes, grids in band, checks report on it."""

from __future__ import annotations

from shapely import union_all
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.demo_territory import generate_territory, load_territory
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid, GridKind
from civgrid.grids.service import check_territory, locate_point

VILLAGES = ["441900101002", *[f"441900101{n}" for n in range(200, 214)]]


def test_generator_is_deterministic_and_tiles_the_town() -> None:
    a, b = generate_territory(VILLAGES), generate_territory(VILLAGES)
    assert list(a.villages) == VILLAGES
    assert all(a.villages[c].equals(b.villages[c]) for c in VILLAGES)
    assert [x.households for x in a.buildings["441900101205"]] == [
        x.households for x in b.buildings["441900101205"]
    ]
    town = a.villages.values()
    total = sum(v.area for v in town)
    assert union_all(list(town)).area == total  # no overlaps between villages
    lon, lat = union_all(list(town)).centroid.coords[0]
    assert abs(lon - 113.78) < 0.03 and abs(lat - 23.09) < 0.03


def test_load_territory_into_the_database(db: Session) -> None:
    count = load_territory(
        db
    )  # its speed is a benchmark's business (bench/divide.py), not a test's
    grids = db.scalars(select(Grid).where(Grid.code.startswith("441900101"))).all()
    assert len(grids) == count > 90
    assert {g.village_code for g in grids} == set(VILLAGES)
    exclusive = [g for g in grids if g.kind is GridKind.EXCLUSIVE]
    assert [g.name for g in exclusive] == ["石碣中学专属网格"]
    assert all(300 <= g.households <= 500 for g in grids if g.kind is GridKind.COMPREHENSIVE)
    reports = check_territory(db, "441900101")
    assert set(reports) == set(VILLAGES)
    assert all(
        r.gap_area_m2 < 1 and r.overlap_area_m2 < 1 and not r.crossing for r in reports.values()
    )
    # the automatic division keeps every protected site whole (the factory, the park …)
    assert not any(r.split_sites for r in reports.values())
    p = from_text(grids[0].geometry).representative_point()
    loc = locate_point(db, p.x, p.y)
    assert loc is not None and loc.grid_code == grids[0].code
    assert [o[0] for o in loc.overlays] == ["police", "sanitation"]
    assert load_territory(db) == 0  # idempotent
