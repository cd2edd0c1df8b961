"""Geometry the overlay engine finds hard: lattices, shared edges, touching corners, broken
features. The planner divides them or names what it cannot use, never a GEOS traceback."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from civgrid.planning.divide import divide_village
from civgrid.planning.geometry import overlay, polygonal, union
from civgrid.planning.inputs import DivisionInputError, Unit
from civgrid.planning.report import check_proposal
from tests.planning.conftest import wgs

VILLAGE_CODE = "441900101206"


def _assert_tiles(p, village) -> None:  # type: ignore[no-untyped-def]
    assert all(g.geometry.geom_type == "Polygon" and g.geometry.is_valid for g in p.grids)
    checks = check_proposal(p, village)
    assert checks.overlap_area_m2 < 1.0
    assert checks.gap_area_m2 < 1e-6 * checks.village_area_m2


def test_lattice_of_100_rectangular_buildings_divides() -> None:
    """Issue 19, point 3: 100 rectangles in a lattice inside 四甲村 ended in a GEOS
    TopologyException in the cell union."""
    village = wgs(shapely.box(0, 0, 600, 600))
    units = [
        Unit(f"b{r}-{c}", wgs(shapely.box(40 + 52 * c, 40 + 52 * r, 80 + 52 * c, 72 + 52 * r)), 40)
        for r in range(10)
        for c in range(10)
    ]
    p = divide_village(VILLAGE_CODE, village, units)
    assert sum(g.households for g in p.grids) == 4000
    assert sorted(p.unit_grid) == sorted(u.id for u in units)
    assert all(300 <= g.households <= 500 for g in p.grids)
    _assert_tiles(p, village)


def test_parcels_sharing_edges_and_corners_divide() -> None:
    """A 20 × 20 lattice of 15 m lots sharing every edge (four lots meet at each corner)."""
    village = wgs(shapely.box(-10, -10, 310, 310))
    units = [
        Unit(f"l{r}-{c}", wgs(shapely.box(15 * c, 15 * r, 15 * (c + 1), 15 * (r + 1))), 3)
        for r in range(20)
        for c in range(20)
    ]
    p = divide_village(VILLAGE_CODE, village, units)
    assert sum(g.households for g in p.grids) == 1200
    assert len(p.unit_grid) == 400
    assert all(300 <= g.households <= 500 for g in p.grids)
    _assert_tiles(p, village)


def test_checkerboard_of_lots_touching_only_at_corners_divides() -> None:
    village = wgs(shapely.box(-10, -10, 330, 330))
    units = [
        Unit(f"c{r}-{c}", wgs(shapely.box(20 * c, 20 * r, 20 * (c + 1), 20 * (r + 1))), 8)
        for r in range(16)
        for c in range(16)
        if (r + c) % 2 == 0
    ]
    p = divide_village(VILLAGE_CODE, village, units)
    assert sum(g.households for g in p.grids) == 8 * 128
    _assert_tiles(p, village)


def test_rows_of_lots_meeting_in_t_junctions_with_slivers_divide() -> None:
    """Two rows of lots back to back whose lot lines do not meet, and 0.4 m slivers."""
    village = wgs(shapely.box(-20, -20, 820, 220))
    rng = np.random.default_rng(4)
    units = []
    for block in range(4):
        x0 = block * 205.0
        for row, (y0, y1) in enumerate(((0.0, 45.0), (45.0, 90.0))):
            cuts = np.sort(np.concatenate([[0, 190], rng.uniform(5, 185, 12)]))
            cuts = np.sort(np.append(cuts, cuts[3] + 0.4))
            for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
                geom = wgs(
                    shapely.box(x0 + a, y0 + 100 * (block % 2), x0 + b, y1 + 100 * (block % 2))
                )
                units.append(Unit(f"k{block}-{row}-{i}", geom, int(rng.integers(0, 12))))
    p = divide_village(VILLAGE_CODE, village, units)
    assert len(p.unit_grid) == len(units)
    assert sum(g.households for g in p.grids) == sum(u.households for u in units)
    _assert_tiles(p, village)


def test_unusable_features_are_skipped_and_named_broken_ones_repaired() -> None:
    village = wgs(shapely.box(0, 0, 500, 500))
    good = [
        Unit(f"u{i}", wgs(shapely.box(20 + 90 * i, 200, 80 + 90 * i, 260)), 80) for i in range(5)
    ]
    ring = [
        (300, 50),
        (360, 50),
        (360, 110),
        (300, 110),
        (300, 50),
        (320, 80),
        (330, 80),
        (300, 50),
    ]
    with np.errstate(invalid="ignore"):
        nan = shapely.Polygon([(10, 10), (math.nan, 20), (20, 20), (10, 10)])
    odd = [
        Unit("none", None, 3),  # type: ignore[arg-type]
        Unit("line", wgs(shapely.LineString([(10, 10), (50, 50)])), 2),
        Unit("nan", nan, 1),
        Unit("touching", wgs(shapely.Polygon(ring)), 4),
        Unit("speck", wgs(shapely.Polygon([(5, 5), (6, 6), (7, 7), (5, 5)])), 0),
    ]
    p = divide_village(VILLAGE_CODE, village, good + odd)
    skipped = {s.split(":")[0]: s for s in p.notes.skipped}
    assert set(skipped) == {"unit none", "unit line", "unit nan", "unit speck"}
    assert "no geometry" in skipped["unit none"]
    assert "LineString" in skipped["unit line"]
    assert "NaN" in skipped["unit nan"]
    assert [r.split(" (")[0] for r in p.notes.repaired] == [
        "unit touching: repaired invalid geometry"
    ]
    assert set(p.unit_grid) == {u.id for u in good} | {"touching"}


def test_nothing_usable_is_a_clear_error() -> None:
    with pytest.raises(DivisionInputError) as err:
        divide_village(VILLAGE_CODE, wgs(shapely.box(0, 0, 100, 100)), [Unit("x", None, 3)])  # type: ignore[arg-type]
    assert "no units with households" in err.value.message


def test_overlays_fall_back_to_a_precision_grid() -> None:
    """Self-touching and near-coincident inputs: always a valid polygonal answer."""
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    assert polygonal(bow).is_valid and polygonal(bow).area == pytest.approx(50)
    assert polygonal(shapely.LineString([(0, 0), (1, 1)])).is_empty
    squares = [shapely.box(i, 0, i + 1, 1) for i in range(10)]
    jittered = [shapely.box(i + 1e-12, 0, i + 1 - 1e-12, 1) for i in range(10)]
    assert union(squares, coverage=True).area == pytest.approx(10)
    assert union([*squares, *jittered]).area == pytest.approx(10)
    assert overlay("difference", shapely.box(0, 0, 2, 2), bow).is_valid


SIJIA_TOWN = [
    "441900101002",
    *(f"441900101{i}" for i in range(200, 214)),
]


def test_lattice_in_the_demo_village_sijia_with_its_roads_and_sites() -> None:
    """The exact layout that failed (issue 19, point 3): a 10 × 10 lattice of 20 × 12 m
    buildings, 30 m apart, in 四甲村 of the demo town, with the town's roads and sites."""
    from civgrid.grids.demo_territory import generate_territory

    town = generate_territory(SIJIA_TOWN)
    village = town.villages[VILLAGE_CODE]
    roads = [g for _n, g in town.roads if not g.is_empty and g.intersects(village)]
    sites = [s for s in town.protected if s.geometry.intersection(village).area > 0]
    c = village.centroid
    kx, ky = 111_320.0 * math.cos(math.radians(c.y)), 110_574.0

    def lot(x: float, y: float) -> shapely.Polygon:
        return shapely.box(c.x + x / kx, c.y + y / ky, c.x + (x + 20) / kx, c.y + (y + 12) / ky)

    units = [
        Unit(f"b{r}{q}", lot((q - 5) * 30 - 50, (r - 5) * 30 + 20), 12)
        for r in range(10)
        for q in range(10)
    ]
    p = divide_village(VILLAGE_CODE, village, units, roads=roads, protected=sites)
    assert sorted(p.unit_grid) == sorted(u.id for u in units)
    assert sum(g.households for g in p.grids) == 1200
    _assert_tiles(p, village)
