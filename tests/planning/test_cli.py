"""``civgrid grids propose`` on files: proposal and report written, bad input refused."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
from typer.testing import CliRunner

from civgrid.cli import app
from civgrid.planning.report import write_proposals
from civgrid.planning.synthetic import township

runner = CliRunner()


def _write(path: Path, geoms: list, **fields: list) -> Path:
    import numpy as np
    import shapely

    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(np.asarray(geoms, dtype=object)),
        field_data=[np.asarray(v) for v in fields.values()],
        fields=list(fields),
        crs="EPSG:4326",
        driver="GeoJSON",
        geometry_type="Unknown",
    )
    return path


def test_propose_writes_proposal_and_report(tmp_path: Path) -> None:
    town = township(1_500, villages=(1, 1), seed=5)
    ((code, village),) = town.villages.items()
    units = _write(
        tmp_path / "units.geojson",
        [u.geometry for u in town.units],
        bid=[u.id for u in town.units],
        households=[u.households for u in town.units],
    )
    boundary = _write(tmp_path / "village.geojson", [village], code=[code])
    roads = _write(tmp_path / "roads.geojson", town.roads, n=list(range(len(town.roads))))
    sites = _write(
        tmp_path / "sites.geojson",
        [s.geometry for s in town.protected],
        name=[s.name for s in town.protected],
    )
    out, report = tmp_path / "proposal.gpkg", tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "grids",
            "propose",
            "--village",
            code,
            "--units",
            str(units),
            "--boundary",
            str(boundary),
            "--roads",
            str(roads),
            "--protected",
            str(sites),
            "--band",
            "300:500",
            "--id-field",
            "bid",
            "--out",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["village"] == code and data["summary"]["in_band_share"] == 1.0
    assert data["checks"]["split_sites"] == []
    assert pyogrio.read_info(out)["features"] == data["summary"]["grids"]


def test_propose_refuses_a_bad_band_and_names_bad_units(tmp_path: Path) -> None:
    import shapely

    units = _write(
        tmp_path / "u.geojson",
        [shapely.Point(113.7, 23.1), shapely.Point(113.701, 23.1)],
        households=[10, -4],
    )
    bad_band = runner.invoke(
        app,
        [
            "grids",
            "propose",
            "--village",
            "441900101001",
            "--units",
            str(units),
            "--boundary",
            "around",
            "--band",
            "500:300",
        ],
    )
    assert bad_band.exit_code == 1 and "greater than its maximum" in bad_band.output
    negative = runner.invoke(
        app,
        [
            "grids",
            "propose",
            "--village",
            "441900101001",
            "--units",
            str(units),
            "--boundary",
            "around",
            "--report",
            str(tmp_path / "r.json"),
        ],
    )
    assert negative.exit_code == 1 and "unit 2: household count -4 is negative" in negative.output
    assert not (tmp_path / "r.json").exists()


def test_write_proposals_refuses_unknown_suffix(tmp_path: Path) -> None:
    import pytest

    from civgrid.errors import Invalid

    with pytest.raises(Invalid):
        write_proposals(tmp_path / "x.csv", [])


def test_propose_takes_the_stored_village_boundary(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    import shapely
    from sqlalchemy import delete

    from civgrid.db.session import session_factory
    from civgrid.grids.geo import shape_columns
    from civgrid.grids.models import DivisionBoundary
    from tests.planning.conftest import wgs

    code = "441900101203"
    pts = [wgs(shapely.Point(x, y)) for x in range(20, 600, 40) for y in range(20, 400, 40)]
    units = _write(tmp_path / "u.geojson", pts, households=[9] * len(pts))
    args = [
        "grids",
        "propose",
        "--village",
        code,
        "--units",
        str(units),
        "--out",
        str(tmp_path / "p.geojson"),
        "--report",
        str(tmp_path / "r.json"),
    ]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 1 and f"no boundary is stored for village {code}" in missing.output
    with session_factory()() as db:  # committed for real: the command opens its own session
        db.add(
            DivisionBoundary(division_code=code, **shape_columns(wgs(shapely.box(0, 0, 600, 400))))
        )
        db.commit()
        try:
            result = runner.invoke(app, args)
        finally:
            db.execute(delete(DivisionBoundary).where(DivisionBoundary.division_code == code))
            db.commit()
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert (
        report["summary"]["households"] == 9 * len(pts)
        and report["summary"]["in_band_share"] == 1.0
    )
