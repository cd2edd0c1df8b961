"""Grid import refuses messy geometry: outside its village, overlapping, straddling, NaN, empty,
bow-tie (hard rules, always), and soft-rule failures unless warnings are allowed; nothing is
stored when refused, on the library call and on ``civgrid grids import``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from civgrid.audit.models import AuditEvent
from civgrid.cli import app
from civgrid.errors import Invalid
from civgrid.grids.actions import GridDraft, create_grid
from civgrid.grids.gis import ColumnMapping, import_grids
from civgrid.grids.models import Grid
from civgrid.grids.overlays import set_division_boundary
from tests.grids.conftest import VILLAGE, sq

NEIGHBOUR = "441900101200"  # 唐洪村, east of 城中社区 in these tests
BEIJING = shapely.box(116.39, 39.90, 116.40, 39.91)  # 东城区, nowhere near Shijie
runner = CliRunner()


@pytest.fixture
def villages(db: Session) -> None:
    """城中社区 from -500 m to 1000 m east; 唐洪村 from 1000 m to 2000 m."""
    set_division_boundary(db, VILLAGE, sq(-500, -500, 1000, 1000), actor=None)
    set_division_boundary(db, NEIGHBOUR, sq(1000, -500, 2000, 1000), actor=None)


def write(path: Path, geoms: list[BaseGeometry], codes: list[str], households: list[int]) -> Path:
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(np.asarray(geoms, dtype=object)),
        field_data=[
            np.asarray(codes),
            np.asarray([f"g{i}" for i in range(len(codes))]),
            np.asarray(households),
        ],
        fields=["code", "name", "households"],
        crs="EPSG:4326",
        driver="GPKG" if path.suffix == ".gpkg" else "GeoJSON",
        geometry_type="Unknown",
    )
    return path


def geojson(path: Path, features: list[tuple[str, object]]) -> Path:
    """A GeoJSON file written by hand (geometries a GIS library would refuse to write)."""
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": code, "households": 400},
                "geometry": geom,
            }
            for code, geom in features
        ],
    }
    path.write_text(json.dumps(doc).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity"))
    return path


def grids(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Grid)) or 0)


def refused(db: Session, path: Path, *, allow_warnings: bool = False) -> list[str]:
    before = grids(db)
    with pytest.raises(Invalid) as info:
        import_grids(db, path, ColumnMapping(), actor=None, allow_warnings=allow_warnings)
    assert "nothing imported" in info.value.message
    assert grids(db) == before  # all or nothing
    return [str(e) for e in info.value.detail["errors"]]  # type: ignore[union-attr]


def test_a_beijing_polygon_with_a_shijie_code_is_refused(
    db: Session, villages: None, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "bj.gpkg",
        [sq(0, 0, 100, 100), BEIJING],
        ["44190010100201", "44190010100202"],
        [400, 400],
    )
    for allow in (False, True):
        errors = refused(db, path, allow_warnings=allow)
        assert any(
            "feature 2 (44190010100202)" in e and "entirely outside 441900101002" in e
            for e in errors
        ), errors
        assert not any("feature 1 " in e for e in errors)


def test_without_a_village_boundary_the_township_one_is_used(db: Session, tmp_path: Path) -> None:
    set_division_boundary(db, "441900101", sq(-500, -500, 3000, 3000), actor=None)
    path = write(tmp_path / "bj.gpkg", [BEIJING], ["44190010100201"], [400])
    errors = refused(db, path, allow_warnings=True)
    assert any("entirely outside 441900101 " in e for e in errors), errors


def test_overlapping_an_existing_grid_or_another_of_the_file_is_refused(
    db: Session, villages: None, tmp_path: Path
) -> None:
    create_grid(db, GridDraft(VILLAGE, sq(0, 0, 100, 100), "西片", 400), actor=None)
    path = write(
        tmp_path / "overlap.gpkg",
        [sq(50, 0, 150, 100), sq(300, 0, 400, 100), sq(350, 0, 450, 100), sq(150, 0, 250, 100)],
        ["44190010100202", "44190010100203", "44190010100204", "44190010100205"],
        [400, 400, 400, 400],
    )
    errors = refused(db, path, allow_warnings=True)
    assert any("feature 1" in e and "overlaps grid 44190010100201" in e for e in errors), errors
    assert any("feature 3" in e and "overlaps feature 2" in e for e in errors), errors
    assert not any("feature 4" in e for e in errors)  # sharing an edge is no overlap


def test_straddling_two_villages_is_refused(db: Session, villages: None, tmp_path: Path) -> None:
    path = write(tmp_path / "straddle.gpkg", [sq(900, 0, 1100, 100)], ["44190010100201"], [400])
    errors = refused(db, path, allow_warnings=True)
    assert any("straddles villages 441900101002 and 441900101200" in e for e in errors), errors


def test_nan_infinite_and_empty_geometries_are_named_not_a_traceback(
    db: Session, villages: None, tmp_path: Path
) -> None:
    ring = [[113.78, 23.09], [113.781, 23.09], [113.781, 23.091], [113.78, 23.091]]
    nan = [[113.78, 23.09], ["NaN", 23.09], [113.781, 23.091], [113.78, 23.09]]
    inf = [[113.78, 23.09], ["Infinity", 23.09], [113.781, 23.091], [113.78, 23.09]]
    path = geojson(
        tmp_path / "messy.geojson",
        [
            ("44190010100201", {"type": "Polygon", "coordinates": [nan]}),
            ("44190010100202", {"type": "Polygon", "coordinates": [inf]}),
            ("44190010100203", None),
            ("44190010100204", {"type": "Polygon", "coordinates": []}),
            ("44190010100205", {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}),
        ],
    )
    errors = refused(db, path, allow_warnings=True)
    assert any("feature 1" in e and "not numbers (NaN or infinity)" in e for e in errors), errors
    assert any("feature 2" in e and "not numbers (NaN or infinity)" in e for e in errors), errors
    assert any("feature 3" in e and "no geometry" in e for e in errors), errors
    assert any("feature 4" in e and "no geometry" in e for e in errors), errors
    assert not any("feature 5" in e for e in errors)


def test_a_bow_tie_is_refused_with_its_reason(db: Session, villages: None, tmp_path: Path) -> None:
    x0, y0, x1, y1 = sq(0, 0, 100, 100).bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    path = write(tmp_path / "bowtie.gpkg", [bowtie], ["44190010100201"], [400])
    errors = refused(db, path, allow_warnings=True)
    assert any("feature 1" in e and "invalid polygon (Self-intersection" in e for e in errors)


def test_soft_rules_refuse_unless_warnings_are_allowed(
    db: Session, villages: None, tmp_path: Path
) -> None:
    strip = sq(0, 300, 900, 303)  # 900 m × 3 m: not compact
    path = write(
        tmp_path / "soft.gpkg",
        [sq(0, 0, 100, 100), strip],
        ["44190010100201", "44190010100202"],
        [12, 400],
    )
    errors = refused(db, path)
    assert any("warning: feature 1" in e and "12 households" in e for e in errors), errors
    assert any("warning: feature 2" in e and "not compact" in e for e in errors), errors
    result = import_grids(db, path, ColumnMapping(), actor=None, allow_warnings=True)
    assert [g.code for g in result.grids] == ["44190010100201", "44190010100202"]
    assert len(result.warnings) == 2
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "grid.import"))
    assert event is not None and len(event.detail["warnings_allowed"]) == 2


def test_a_village_without_a_boundary_is_a_warning(db: Session, tmp_path: Path) -> None:
    path = write(tmp_path / "nob.gpkg", [sq(0, 0, 100, 100)], ["44190010100201"], [400])
    errors = refused(db, path)
    assert any("no surveyed boundary" in e for e in errors), errors
    assert len(import_grids(db, path, ColumnMapping(), actor=None, allow_warnings=True).grids) == 1


@pytest.fixture
def cli_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    """``civgrid grids import`` on the test's session."""

    @contextlib.contextmanager
    def session() -> Iterator[Session]:
        yield db

    monkeypatch.setattr("civgrid.grids.cli._session", session)
    return db


def test_cli_refuses_hard_rules_in_chinese_and_admits_soft_ones_with_the_flag(
    cli_db: Session, villages: None, tmp_path: Path
) -> None:
    bad = write(tmp_path / "bj.gpkg", [BEIJING], ["44190010100201"], [400])
    for flags in ([], ["--allow-warnings"]):
        r = runner.invoke(app, ["grids", "import", str(bad), *flags])
        out = r.output.replace("\n", "")  # the console wraps long lines
        assert r.exit_code == 1, r.output
        assert "Traceback" not in out and "GEOS" not in out
        assert "未导入任何网格" in out and "完全位于 441900101002 之外" in out
    assert grids(cli_db) == 0
    soft = write(tmp_path / "soft.gpkg", [sq(0, 0, 100, 100)], ["44190010100201"], [12])
    r = runner.invoke(app, ["grids", "import", str(soft)])
    assert r.exit_code == 1 and "--allow-warnings" in r.output.replace("\n", "")
    assert grids(cli_db) == 0
    r = runner.invoke(app, ["grids", "import", str(soft), "--allow-warnings"])
    assert r.exit_code == 0, r.output
    assert "12 户" in r.output.replace("\n", "") and grids(cli_db) == 1
