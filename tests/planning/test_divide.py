"""Division on real and generated data: targets, explanations, protected sites, codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from civgrid.grids.checks import ProtectedSite
from civgrid.grids.codes import assign_codes
from civgrid.planning.divide import divide, divide_village
from civgrid.planning.inputs import Unit, boundary_around
from civgrid.planning.report import check_proposal, proposal_report
from civgrid.planning.synthetic import township
from tests.planning.conftest import wgs

CAMBRIDGE = Path(__file__).parents[1] / "fixtures" / "geo" / "cambridge_blocks_units.gpkg"


def test_cambridge_blocks_divide_within_targets() -> None:
    df = pyogrio.read_dataframe(CAMBRIDGE)
    units = [
        Unit(str(b), g, int(h)) for b, g, h in zip(df.block_id, df.geometry, df.units, strict=True)
    ]
    boundary = boundary_around([u.geometry for u in units])
    p = divide_village("250000000001", boundary, units, digits=3)  # ~100 grids in one "village"
    assert all(g.contiguous and g.geometry.geom_type == "Polygon" for g in p.grids)
    assert p.in_band_share() == 1.0
    assert np.median([g.polsby_popper for g in p.grids]) >= 0.3
    assert sum(g.households for g in p.grids) == int(df.units.sum())
    # the three blocks above the band are exclusive grids, each explained
    big = {str(b) for b, h in zip(df.block_id, df.units, strict=True) if h > 500}
    assert {g.unit_ids[0] for g in p.grids if g.kind == "exclusive"} == big
    assert {e.reason for e in p.explanations} == {"oversized_unit"}
    checks = check_proposal(p, boundary)
    assert checks.overlap_area_m2 < 1.0
    assert checks.gap_area_m2 < 1e-6 * checks.village_area_m2
    assert not checks.crossing


def test_generated_township_within_targets() -> None:
    town = township()
    assert len(town.units) == 13_000
    proposals = divide(town.villages, town.units, roads=town.roads, protected=town.protected)
    grids = [g for p in proposals for g in p.grids]
    comprehensive = [g for g in grids if g.kind == "comprehensive"]
    assert all(g.contiguous for g in grids)
    assert all(300 <= g.households <= 500 for g in comprehensive)
    assert np.median([g.polsby_popper for g in grids]) >= 0.3
    for p in proposals:
        village = town.villages[p.village_code]
        sites = [s for s in town.protected if s.geometry.intersection(village).area > 0]
        report = check_proposal(p, village, roads=town.roads, protected=sites)
        assert report.split_sites == []
        assert report.gap_area_m2 < 1.0 and report.overlap_area_m2 < 1.0
        assert report.internal_road_share > 0.5  # boundaries follow the streets
        data = proposal_report(p, report)
        assert data["summary"]["grids"] == len(p.grids)
    exclusive = [g for g in grids if g.kind == "exclusive"]
    assert [g.unit_ids for g in exclusive] == [["b0"]]  # the 800-household tower


def _points(n: int, households: int, width: float = 400.0) -> list[Unit]:
    xs = np.linspace(20, width - 20, n)
    return [
        Unit(f"u{i}", wgs(shapely.Point(x, 100 + 10 * (i % 3))), households)
        for i, x in enumerate(xs)
    ]


def test_village_below_band_is_one_explained_grid() -> None:
    village = wgs(shapely.box(0, 0, 400, 200))
    p = divide_village("441900101001", village, _points(12, 10))
    assert len(p.grids) == 1 and p.grids[0].households == 120
    assert [e.reason for e in p.explanations] == ["village_below_band"]
    assert "120 households" in p.explanations[0].message


def test_building_of_800_households_is_its_own_exclusive_grid() -> None:
    village = wgs(shapely.box(0, 0, 800, 400))
    units = [
        Unit(f"u{i}", wgs(shapely.Point(x, y)), 20)
        for i, (x, y) in enumerate((x, y) for x in range(50, 800, 100) for y in range(50, 400, 100))
    ]
    units.append(Unit("tower", wgs(shapely.box(380, 180, 420, 220)), 800))
    p = divide_village("441900101001", village, units)
    tower = [g for g in p.grids if "tower" in g.unit_ids]
    assert len(tower) == 1 and tower[0].kind == "exclusive" and tower[0].unit_ids == ["tower"]
    explained = [e for e in p.explanations if e.reason == "oversized_unit"]
    assert explained[0].grids == [tower[0].code] and explained[0].households == 800


def test_units_in_a_protected_site_stay_in_one_grid_and_the_site_is_whole() -> None:
    village = wgs(shapely.box(0, 0, 1000, 500))
    site = ProtectedSite("school", wgs(shapely.box(430, 180, 570, 320)))
    units = [
        Unit(f"u{i}", wgs(shapely.Point(x, y)), 15)
        for i, (x, y) in enumerate((x, y) for x in range(25, 1000, 50) for y in range(25, 500, 50))
    ]
    p = divide_village("441900101001", village, units, protected=[site])
    inside = {u.id for u in units if site.geometry.covers(u.geometry)}
    holders = [g for g in p.grids if inside & set(g.unit_ids)]
    assert len(holders) == 1 and inside <= set(holders[0].unit_ids)
    assert holders[0].geometry.buffer(1e-9).covers(site.geometry)
    assert check_proposal(p, village, protected=[site]).split_sites == []


def test_codes_follow_the_row_rule() -> None:
    town = township(2_000, villages=(1, 1), seed=3)
    (p,) = divide(town.villages, town.units, roads=town.roads)
    assert [g.code for g in p.grids] == sorted(
        assign_codes(p.village_code, [g.geometry for g in p.grids])
    )
    by_code = dict(
        zip(assign_codes(p.village_code, [g.geometry for g in p.grids]), p.grids, strict=True)
    )
    assert all(by_code[c] is g for c, g in ((g.code, g) for g in p.grids))


@pytest.mark.parametrize("band", [(250, 350), (300, 500)])
def test_band_is_respected_on_a_small_township(band: tuple[int, int]) -> None:
    town = township(3_000, villages=(1, 1), seed=11)
    (p,) = divide(town.villages, town.units, roads=town.roads, protected=town.protected, band=band)
    lo, hi = band
    assert all(lo <= g.households <= hi for g in p.grids if g.kind == "comprehensive")


def test_demo_territory_divides_into_coded_grids() -> None:
    from civgrid.grids.demo_territory import generate_territory
    from civgrid.grids.models import GridKind
    from civgrid.planning.demo import village_grids

    codes = [f"441900101{i:03d}" for i in range(1, 16)]
    t = generate_territory(codes)
    roads = [g for _n, g in t.roads]
    for code, village in t.villages.items():
        pieces = village_grids(
            code,
            village,
            t.buildings[code],
            roads=roads,
            protected=t.protected,
            exclusive=t.exclusive.get(code, ()),
        )
        assert [p[4] for p in pieces] == [f"{code}{i:02d}" for i in range(1, len(pieces) + 1)]
        assert all(300 <= p[1] <= 500 for p in pieces if p[2] == GridKind.COMPREHENSIVE)
        assert sum(p[1] for p in pieces) == sum(b.households for b in t.buildings[code])
    school = village_grids(
        codes[0], t.villages[codes[0]], t.buildings[codes[0]], exclusive=t.exclusive[codes[0]]
    )
    assert [p[3] for p in school if p[2] == GridKind.EXCLUSIVE] == ["石碣中学"]


def _sijia() -> tuple[shapely.Polygon, list[ProtectedSite], list[shapely.LineString]]:
    """四甲村 of the demo town (generated geometry), with its sites and roads."""
    from civgrid.grids.demo_territory import generate_territory

    codes = ["441900101002", *(f"441900101{n}" for n in range(200, 214))]
    town = generate_territory(codes)
    village = town.villages["441900101206"]
    sites = [s for s in town.protected if s.geometry.intersection(village).area > 0]
    roads = [g for _n, g in town.roads if not g.is_empty and g.intersects(village)]
    return village, sites, roads


@pytest.mark.parametrize(
    ("layout", "step", "size"),
    [
        ("lattice", 0.0005, 0.5),  # 100 buildings, gaps between: GEOS failed ("free hole")
        ("lattice", 0.0004, 1.0),  # shared edges
        ("lattice", 0.00045, 1.0),
        ("checkerboard", 0.0005, 1.0),  # touching corners only
    ],
)
def test_regular_layouts_divide_into_valid_grids(layout: str, step: float, size: float) -> None:
    village, sites, roads = _sijia()
    c = village.centroid
    units = [
        Unit(f"b{i}-{j}", shapely.box(x, y, x + step * size, y + step * size), 40)
        for i in range(10 if layout == "lattice" else 14)
        for j in range(10 if layout == "lattice" else 14)
        if layout == "lattice" or (i + j) % 2 == 0
        for x, y in [(c.x + (i - 5) * step, c.y + (j - 5) * step)]
    ]
    units = [u for u in units if village.covers(u.geometry)]
    assert len(units) >= 90
    p = divide_village("441900101206", village, units, roads=roads, protected=sites)
    assert all(g.geometry.is_valid and g.geometry.geom_type == "Polygon" for g in p.grids)
    assert sum(g.households for g in p.grids) == 40 * len(units)
    report = check_proposal(p, village, roads=roads, protected=sites)
    assert report.gap_area_m2 < 1.0 and report.overlap_area_m2 < 1.0


def test_robust_union_falls_back_when_geos_cannot_node() -> None:
    from civgrid.planning.divide import robust_union

    # two squares whose shared edge is off by a hair: no clean coverage
    a = shapely.box(0, 0, 1, 1)
    b = shapely.Polygon([(1 + 1e-12, 0), (2, 0), (2, 1), (1 - 1e-12, 1)])
    union = robust_union([a, b])
    assert union.is_valid
    assert abs(union.area - 2.0) < 1e-6
