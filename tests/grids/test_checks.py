"""The six division checks on hand-built villages (metre-sized squares near Shijie)."""

from __future__ import annotations

import math

import pytest
from shapely import LineString, box

from civgrid.grids.checks import (
    GridShape,
    ProtectedSite,
    check_village,
    local_projector,
    polsby_popper,
)

LON, LAT = 113.78, 23.09
M = 1 / 111_320  # about one metre of latitude, in degrees
MX = M / math.cos(math.radians(LAT))  # one metre of longitude here


def sq(x0: float, y0: float, x1: float, y1: float):  # type: ignore[no-untyped-def]
    """A box given in metres east/north of the reference point."""
    return box(LON + x0 * MX, LAT + y0 * M, LON + x1 * MX, LAT + y1 * M)


VILLAGE = sq(0, 0, 200, 100)


def test_two_halves_tile_the_village() -> None:
    grids = [
        GridShape("44190010100101", sq(0, 0, 100, 100), 400),
        GridShape("44190010100102", sq(100, 0, 200, 100), 350),
    ]
    r = check_village(VILLAGE, grids)
    assert r.village_area_m2 == pytest.approx(20_000, rel=0.01)
    assert r.gap_area_m2 < 1
    assert r.overlap_area_m2 < 1
    assert r.crossing == [] and r.out_of_band == [] and r.split_sites == []
    assert r.ok
    assert r.grids[0].area_m2 == pytest.approx(10_000, rel=0.01)


def test_gap_overlap_crossing_band_measured() -> None:
    grids = [
        GridShape("a", sq(0, 0, 120, 100), 200),  # overlaps b by 20x100 m, too few households
        GridShape("b", sq(100, 0, 180, 100), 400),  # leaves a 20x100 gap at the east end
        GridShape("c", sq(180, 80, 200, 130), 50, kind="exclusive"),  # 20x30 m outside
    ]
    r = check_village(VILLAGE, grids)
    assert r.overlap_area_m2 == pytest.approx(2000, rel=0.02)
    assert r.gap_area_m2 == pytest.approx(20 * 80, rel=0.02)
    assert r.crossing == ["c"]
    assert r.grids[2].outside_village_m2 == pytest.approx(600, rel=0.02)
    assert r.out_of_band == ["a"]  # the exclusive grid is exempt from the band
    assert r.grids[0].overlap_m2 == pytest.approx(2000, rel=0.02)
    assert "overlap" in r.grids[1].problems
    assert not r.ok
    d = r.to_dict()
    assert d["grids"][0]["problems"] == ["overlap", "household_band"]
    assert d["ok"] is False


def test_road_share_and_split_site() -> None:
    grids = [GridShape("a", sq(0, 0, 100, 100), 400), GridShape("b", sq(100, 0, 200, 100), 400)]
    road = LineString([(LON + 100 * MX, LAT - 10 * M), (LON + 100 * MX, LAT + 110 * M)])
    school = ProtectedSite("school", sq(90, 40, 110, 60))
    whole = ProtectedSite("factory", sq(10, 10, 40, 40))
    r = check_village(VILLAGE, grids, roads=[road], protected=[school, whole])
    # each grid has a 400 m boundary, 100 m of it on the road
    assert r.grids[0].road_share == pytest.approx(0.25 + 2 * 15 / 400, abs=0.01)
    assert r.internal_boundary_m == pytest.approx(100, rel=0.02)
    assert r.internal_road_share == pytest.approx(1.0, abs=0.02)
    assert r.split_sites == ["school"]
    assert r.grids[0].split_sites == ["school"] and r.grids[1].split_sites == ["school"]


def test_polsby_popper_of_square_and_circle() -> None:
    project = local_projector(VILLAGE)
    assert polsby_popper(project(sq(0, 0, 100, 100))) == pytest.approx(math.pi / 4, rel=0.01)
    circle = project(sq(0, 0, 1, 1)).centroid.buffer(50, quad_segs=64)
    assert polsby_popper(circle) == pytest.approx(1, rel=0.01)


def test_invalid_grid_with_a_dangling_spike_is_measured_by_its_area() -> None:
    """make_valid turns a polygon with a spike into polygon + line; only the area counts."""
    from shapely import Polygon

    a, b = (LON, LAT), (LON + 100 * MX, LAT)
    c, d = (LON + 100 * MX, LAT + 100 * M), (LON, LAT + 100 * M)
    spike = (LON + 150 * MX, LAT + 50 * M)
    # the ring runs out along a spike and back over itself: invalid (self-touching)
    bad = Polygon(
        [a, b, (LON + 100 * MX, LAT + 50 * M), spike, (LON + 100 * MX, LAT + 50 * M), c, d]
    )
    assert not bad.is_valid
    grids = [
        GridShape("44190010100101", bad, 400),
        GridShape("44190010100102", sq(100, 0, 200, 100), 350),
    ]
    r = check_village(VILLAGE, grids)
    assert r.gap_area_m2 < 1 and r.overlap_area_m2 < 1
    assert r.grids[0].area_m2 == pytest.approx(10_000, rel=0.01)
