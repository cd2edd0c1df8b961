"""Bad input: one clear error naming every offending feature, nothing divided."""

from __future__ import annotations

import pytest
import shapely

from civgrid.grids.checks import ProtectedSite
from civgrid.planning.divide import divide, divide_village
from civgrid.planning.inputs import DivisionInputError, Unit, parse_band
from tests.planning.conftest import wgs

VILLAGE = wgs(shapely.box(0, 0, 500, 500))


def _units() -> list[Unit]:
    return [Unit(f"u{i}", wgs(shapely.Point(50 + 100 * i, 250)), 100) for i in range(5)]


def _error(**kw: object) -> DivisionInputError:
    args = {"units": _units(), **kw}
    with pytest.raises(DivisionInputError) as err:
        divide_village("441900101001", VILLAGE, **args)  # type: ignore[arg-type]
    return err.value


def test_unit_outside_the_village_is_named() -> None:
    units = [*_units(), Unit("far", wgs(shapely.Point(900, 900)), 10)]
    assert "unit far: lies outside the village" in _error(units=units).problems


def test_negative_and_missing_households_are_named() -> None:
    units = [
        *_units(),
        Unit("neg", wgs(shapely.Point(60, 60)), -3),
        Unit("none", wgs(shapely.Point(70, 70)), None),
    ]  # type: ignore[arg-type]
    problems = _error(units=units).problems
    assert "unit neg: household count -3 is negative" in problems
    assert "unit none: household count is missing" in problems


def test_invalid_polygon_is_repaired_and_reported() -> None:
    bowtie = wgs(shapely.Polygon([(10, 10), (60, 60), (60, 10), (10, 60)]))
    p = divide_village("441900101001", VILLAGE, [*_units(), Unit("bowtie", bowtie, 5)])
    assert p.unit_grid["bowtie"]
    assert [r.split(" (")[0] for r in p.notes.repaired] == [
        "unit bowtie: repaired invalid geometry"
    ]
    assert p.notes.skipped == []


def test_protected_site_crossing_the_boundary_is_named() -> None:
    site = ProtectedSite("factory", wgs(shapely.box(450, 100, 600, 200)))
    assert (
        "protected site factory: crosses the village boundary" in _error(protected=[site]).problems
    )


def test_band_min_above_max_is_refused() -> None:
    assert "greater than its maximum" in _error(band=(500, 300)).message
    with pytest.raises(DivisionInputError):
        parse_band("500:300")
    with pytest.raises(DivisionInputError):
        parse_band("300-500")


def test_every_problem_is_listed_at_once() -> None:
    units = [Unit("a", wgs(shapely.Point(900, 900)), -1), Unit("b", wgs(shapely.Point(50, 50)), -2)]
    problems = _error(units=units).problems
    assert len(problems) == 3


def test_units_outside_every_village_of_a_township() -> None:
    with pytest.raises(DivisionInputError) as err:
        divide({"441900101001": VILLAGE}, [*_units(), Unit("x", wgs(shapely.Point(-50, 0)), 1)])
    assert err.value.problems == ["unit x: lies outside every village"]
