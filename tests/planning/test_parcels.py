"""Assessor-like parcels (derived from the Cambridge blocks): what the generator makes, and
the planner on 1,000, 13,000 and 50,000 of them (timed in bench/divide.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from civgrid.planning.divide import Proposal, divide_village
from civgrid.planning.inputs import Unit, boundary_around, repair_units
from civgrid.planning.parcels import Parcel, parcels
from civgrid.planning.report import check_proposal

BLOCKS = Path(__file__).parents[1] / "fixtures" / "geo" / "cambridge_blocks_units.gpkg"


@pytest.fixture(scope="module")
def city() -> list[Parcel]:
    return parcels(BLOCKS, 13_000)


def test_parcels_look_like_an_assessor_layer(city: list[Parcel]) -> None:
    assert len(city) == 13_000
    geoms = [p.geometry for p in city if p.geometry is not None]
    lonlat = shapely.total_bounds(np.asarray(geoms, dtype=object))
    assert -72 < lonlat[0] < lonlat[2] < -70 and 42 < lonlat[1] < lonlat[3] < 43.5
    units = np.array([p.units for p in city])
    assert 0.2 < (units == 0).mean() < 0.6  # shops, parks, schools, car parks
    assert 500 <= units.max() <= 1_200 and (units >= 500).sum() >= 2  # heavy tail
    invalid = [g for g in geoms if g.geom_type == "Polygon" and not g.is_valid]
    assert 0.002 < len(invalid) / len(city) < 0.004
    assert sum(p.geometry is None for p in city) >= 1
    assert any(g.geom_type == "LineString" for g in geoms)
    valid = np.asarray([g for g in geoms if g.is_valid and g.geom_type == "Polygon"], dtype=object)
    tree = shapely.STRtree(valid)
    pairs = tree.query(valid[:2_000], predicate="touches")
    corners = [
        (i, j)
        for i, j in pairs.T.tolist()
        if i < j and shapely.intersection(valid[i], valid[j]).geom_type == "Point"
    ]
    assert corners  # lots meeting only at a corner
    assert (shapely.area(valid) < 1e-9).any()  # slivers (about a metre wide)


def _divide(features: list[Parcel]) -> tuple[Proposal, object]:
    units = [Unit(p.id, p.geometry, p.units) for p in features]  # type: ignore[arg-type]
    boundary = boundary_around([u.geometry for u in repair_units(units)[0]])
    return divide_village("250000000001", boundary, units, digits=3), boundary


def _assert_quality(p: Proposal, boundary: object, features: list[Parcel]) -> None:
    usable = {x.id for x in features} - {s.split(":")[0][5:] for s in p.notes.skipped}
    assert sorted(p.unit_grid) == sorted(usable)  # every parcel in exactly one grid
    assert len(p.notes.skipped) >= 3 and p.notes.repaired
    assert all(g.geometry.geom_type == "Polygon" for g in p.grids)
    assert p.in_band_share() >= 0.95
    assert np.median([g.polsby_popper for g in p.grids]) >= 0.3
    assert not [g for g in p.grids if g.households == 0 and g.kind != "exclusive"]
    for g in p.grids:
        if g.kind == "exclusive":
            assert len(g.unit_ids) == 1 and g.households > p.band[1]
    explained = {c for e in p.explanations for c in e.grids}
    lo, hi = p.band
    assert {g.code for g in p.grids if not lo <= g.households <= hi} <= explained
    checks = check_proposal(p, boundary)  # type: ignore[arg-type]
    assert checks.overlap_area_m2 < 1.0
    assert checks.gap_area_m2 < 1e-6 * checks.village_area_m2


def test_one_thousand_parcels(city: list[Parcel]) -> None:
    features = parcels(BLOCKS, 1_000, seed=3)
    p, boundary = _divide(features)
    _assert_quality(p, boundary, features)


def test_thirteen_thousand_parcels(city: list[Parcel]) -> None:
    p, boundary = _divide(city)
    _assert_quality(p, boundary, city)
    assert [g for g in p.grids if g.kind == "exclusive"]  # the heavy tail, each explained


def test_fifty_thousand_parcels() -> None:
    features = parcels(BLOCKS, 50_000)
    p, boundary = _divide(features)
    _assert_quality(p, boundary, features)
