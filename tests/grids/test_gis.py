"""GIS import/export: three formats, any CRS, column mapping, GCJ-02, and all-or-nothing errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.errors import Invalid
from civgrid.grids.geo import from_text, wgs84_to_gcj02
from civgrid.grids.gis import ColumnMapping, export_grids, import_grids, read_layer
from civgrid.grids.models import Grid, GridVersion, VersionReason
from civgrid.grids.overlays import set_division_boundary
from tests.grids.conftest import VILLAGE, sq


def write(
    path: Path, geoms: list[BaseGeometry], crs: str | None = "EPSG:4326", **fields: list
) -> Path:  # type: ignore[type-arg]
    """Write polygons with attribute columns (crs=None writes a file without a CRS)."""
    driver = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}[path.suffix]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio warns when crs is None: wanted
        _write(path, geoms, crs, driver, fields)
    return path


def _write(
    path: Path, geoms: list[BaseGeometry], crs: str | None, driver: str, fields: dict
) -> None:  # type: ignore[type-arg]
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(np.asarray(geoms, dtype=object)),
        field_data=[np.asarray(v) for v in fields.values()],
        fields=list(fields),
        crs=crs,
        driver=driver,
        geometry_type="Polygon",
        encoding="UTF-8",
    )


@pytest.fixture(autouse=True)
def village_boundary(db: Session) -> None:
    """城中社区's surveyed boundary, around every square these tests import."""
    set_division_boundary(db, VILLAGE, sq(-1000, -1000, 1000, 1000), actor=None)


def count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Grid)) or 0)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_round_trip_in_each_format(db: Session, tmp_path: Path, suffix: str) -> None:
    path = write(
        tmp_path / f"in{suffix}",
        [sq(0, 0, 100, 100), sq(100, 0, 200, 100)],
        bianma=["44190010100201", "44190010100202"],
        mingcheng=["西片", "东片"],
        hushu=[410, 380],
    )
    mapping = ColumnMapping(code="bianma", name="mingcheng", households="hushu")
    result = import_grids(db, path, mapping, actor=None)
    assert [(g.code, g.name, g.households) for g in result.grids] == [
        ("44190010100201", "西片", 410),
        ("44190010100202", "东片", 380),
    ]
    assert (
        db.scalar(select(GridVersion.reason).where(GridVersion.grid_id == result.grids[0].id))
        is VersionReason.IMPORTED
    )
    out = tmp_path / f"out{suffix}"
    assert export_grids(db, out, prefix=VILLAGE) == 2
    back = read_layer(out)
    assert [a["code"] for _l, _g, a in back] == ["44190010100201", "44190010100202"]
    assert back[0][1].symmetric_difference(sq(0, 0, 100, 100)).area < 1e-12


def test_projected_crs_and_assigned_codes(db: Session, tmp_path: Path) -> None:
    """CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547); codes assigned by rows."""
    to_cgcs = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    south, north = sq(0, 0, 100, 100), sq(0, 100, 100, 200)
    projected = [
        shapely.transform(g, lambda xy: np.column_stack(to_cgcs.transform(xy[:, 0], xy[:, 1])))
        for g in (south, north)
    ]
    path = write(
        tmp_path / "cgcs.gpkg", projected, crs="EPSG:4547", cun=[VILLAGE] * 2, hh=[300, 320]
    )
    result = import_grids(
        db, path, ColumnMapping(code="", name="", households="hh", village="cun"), actor=None
    )
    south_grid, north_grid = result.grids
    assert north_grid.code == "44190010100201" and south_grid.code == "44190010100202"
    assert from_text(south_grid.geometry).symmetric_difference(south).area < 1e-12
    assert south_grid.area_m2 == pytest.approx(10_000, rel=0.01)


def test_gcj02_input_is_converted(db: Session, tmp_path: Path) -> None:
    wgs = sq(0, 0, 100, 100)
    gcj = shapely.transform(wgs, lambda xy: np.array([wgs84_to_gcj02(x, y) for x, y in xy]))
    path = write(
        tmp_path / "gcj.geojson",
        [gcj],
        crs=None,
        code=["44190010100201"],
        name=["a"],
        households=[300],
    )
    result = import_grids(db, path, ColumnMapping(), actor=None, crs="GCJ-02")
    assert from_text(result.grids[0].geometry).symmetric_difference(wgs).area < 1e-13


def test_self_intersection_repaired_when_safe_and_reported(db: Session, tmp_path: Path) -> None:
    a = sq(0, 0, 100, 100)
    x0, y0, x1, y1 = a.bounds
    # a square with a zero-width spike: invalid, but make_valid keeps its area
    spiky = shapely.Polygon(
        [
            (x0, y0),
            (x1, y0),
            (x1, y1),
            ((x0 + x1) / 2, y1),
            ((x0 + x1) / 2, y1 + 0.001),
            ((x0 + x1) / 2, y1),
            (x0, y1),
        ]
    )
    assert not spiky.is_valid
    path = write(
        tmp_path / "spike.geojson", [spiky], code=["44190010100201"], name=["a"], households=[300]
    )
    result = import_grids(db, path, ColumnMapping(), actor=None)
    assert len(result.grids) == 1
    assert result.repaired and "feature 1" in result.repaired[0]


def test_bad_files_name_the_feature_and_import_nothing(db: Session, tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(113.78, 23.09), (113.79, 23.10), (113.79, 23.09), (113.78, 23.10)])
    path = write(
        tmp_path / "bad.geojson",
        [sq(0, 0, 10, 10), bowtie, sq(20, 0, 30, 10), sq(40, 0, 50, 10), sq(60, 0, 70, 10)],
        code=[
            "44190010100201",
            "44190010100202",
            "44190099999901",
            "44190010100201",
            "44190010100205",
        ],
        name=["ok", "bowtie", "nowhere", "twice", "fine"],
        households=[300, 300, 300, 300, 300],
    )
    with pytest.raises(Invalid) as info:
        import_grids(db, path, ColumnMapping(), actor=None)
    errors = info.value.detail["errors"]
    assert any("feature 2" in e and "cannot be repaired" in e for e in errors)
    assert any("feature 3" in e and "unknown village code 441900999999" in e for e in errors)
    assert any("feature 4" in e and "duplicate grid code 44190010100201" in e for e in errors)
    assert "nothing imported" in info.value.message
    assert count(db) == 0


def test_existing_code_missing_crs_wrong_crs_and_empty(db: Session, tmp_path: Path) -> None:
    ok = write(
        tmp_path / "ok.geojson",
        [sq(0, 0, 10, 10)],
        code=["44190010100201"],
        name=["a"],
        households=[300],
    )
    import_grids(db, ok, ColumnMapping(), actor=None)
    with pytest.raises(Invalid) as info:
        import_grids(db, ok, ColumnMapping(), actor=None)
    assert (
        "feature 1 (44190010100201): grid code 44190010100201 already exists"
        in info.value.detail["errors"][0]
    )
    shp = write(
        tmp_path / "nocrs.shp",
        [sq(0, 0, 10, 10)],
        crs=None,
        code=["44190010100202"],
        name=["a"],
        households=[1],
    )
    with pytest.raises(Invalid, match="declares no coordinate reference system"):
        import_grids(db, shp, ColumnMapping(), actor=None)
    # metre coordinates declared as degrees
    metres = write(
        tmp_path / "metres.geojson",
        [shapely.box(500_000, 2_550_000, 500_100, 2_550_100)],
        code=["44190010100203"],
        name=["a"],
        households=[1],
    )
    with pytest.raises(Invalid, match="feature 1 .* coordinate reference system is wrong"):
        import_grids(db, metres, ColumnMapping(), actor=None)
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(Invalid, match="no features"):
        import_grids(db, empty, ColumnMapping(), actor=None)
    with pytest.raises(Invalid) as info:
        import_grids(db, ok, ColumnMapping(code="bianma"), actor=None)
    assert "feature 1 (44190010100201): no attribute 'bianma'" in info.value.detail["errors"][0]
    assert count(db) == 1
