"""Footprints and component lines: WKT or GeoJSON in sheets, the API and the form, checked
(bowtie, swapped axes, empty, garbage, far away), round-tripped, and drawn in the grid book."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.ledger import actions
from civgrid.ledger.book import grid_map
from civgrid.ledger.exporter import export_file
from civgrid.ledger.importer import import_file, write_error_workbook
from civgrid.ledger.models import Building, Component, LedgerKind
from civgrid.ledger.schemas import COLUMNS, read_row
from civgrid.web.i18n import gettext
from tests.ledger.conftest import Place
from tests.ledger.test_excel import xlsx
from tests.ledger.test_routes import login

BUILDING_HEADER = [c.header for c in COLUMNS[LedgerKind.BUILDINGS]]
COMPONENT_HEADER = [c.header for c in COLUMNS[LedgerKind.COMPONENTS]]


def square(lon: float, lat: float, d: float = 0.0001) -> str:
    return (
        f"POLYGON (({lon - d} {lat - d}, {lon + d} {lat - d}, {lon + d} {lat + d}, "
        f"{lon - d} {lat + d}, {lon - d} {lat - d}))"
    )


def bowtie(lon: float, lat: float, d: float = 0.0001) -> str:
    return (
        f"POLYGON (({lon - d} {lat - d}, {lon + d} {lat + d}, {lon + d} {lat - d}, "
        f"{lon - d} {lat + d}, {lon - d} {lat - d}))"
    )


def swapped(lon: float, lat: float, d: float = 0.0001) -> str:
    return f"POLYGON (({lat} {lon}, {lat + d} {lon}, {lat + d} {lon + d}, {lat} {lon}))"


def building_row(place: Place, i: int, footprint: Any) -> list[Any]:
    # code, name, address, floors, use, lon, lat, footprint
    return [f"B-{i}", "", f"石龙路{i}号", 3, "住宅", place.lon, place.lat, footprint]


def cells(place: Place, footprint: Any) -> dict[str, Any]:
    row = building_row(place, 1, footprint)
    return {c.field: v for c, v in zip(COLUMNS[LedgerKind.BUILDINGS], row, strict=True)}


@pytest.mark.parametrize(
    ("shape", "says"),
    [
        ("bowtie", "Self-intersection"),
        ("swapped", "write longitude first"),
        ("POLYGON EMPTY", "empty"),
        ("GEOMETRYCOLLECTION EMPTY", "empty"),
        ("POLYGON ((1 2, 3 4", "not a geometry"),
        ("垃圾 not wkt", "not a geometry"),
        ('{"type": "Polygon", "coordinates": "x"}', "not a geometry"),
        ("POINT (113.8 23.09)", "Polygon / MultiPolygon is wanted"),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0))", "outside longitude 73–136"),
        ("far", "km from the record's point"),
    ],
)
def test_bad_footprints_are_refused_with_the_reason(place: Place, shape: str, says: str) -> None:
    text = {
        "bowtie": bowtie(place.lon, place.lat),
        "swapped": swapped(place.lon, place.lat),
        "far": square(place.lon + 0.2, place.lat),
    }.get(shape, shape)
    _values, errors = read_row(LedgerKind.BUILDINGS, cells(place, text))
    assert [f for f, _ in errors] == ["footprint"]
    assert says in str(errors[0][1])


def test_wkt_geojson_and_a_feature_keep_the_same_geojson(place: Place) -> None:
    wkt = square(place.lon, place.lat)
    kept = read_row(LedgerKind.BUILDINGS, cells(place, wkt))[0]["footprint"]
    geometry = json.loads(kept)
    assert geometry["type"] == "Polygon"
    feature = json.dumps({"type": "Feature", "properties": {}, "geometry": geometry})
    for same in (kept, feature, geometry, wkt.replace("POLYGON", "POLYGON Z").replace(",", " 5,")):
        if isinstance(same, str) and "Z" in same:
            same = same.replace("))", " 5))")
        assert read_row(LedgerKind.BUILDINGS, cells(place, same))[0]["footprint"] == kept
    assert read_row(LedgerKind.BUILDINGS, cells(place, "  "))[0]["footprint"] is None


def test_a_sheet_with_bad_geometry_imports_nothing_and_names_the_rows(
    db: Session, place: Place, tmp_path: Path
) -> None:
    rows = [
        building_row(place, 1, square(place.lon, place.lat)),
        building_row(place, 2, bowtie(place.lon, place.lat)),
        building_row(place, 3, swapped(place.lon, place.lat)),
        building_row(place, 4, "POLYGON EMPTY"),
        building_row(place, 5, "hello"),
        building_row(place, 6, ""),
    ]
    path = xlsx(tmp_path / "b.xlsx", BUILDING_HEADER, rows)
    result = import_file(db, LedgerKind.BUILDINGS, path, actor=None)
    assert [e.row for e in result.errors] == [3, 4, 5, 6]
    assert {e.column for e in result.errors} == {"轮廓（WKT） footprint (WKT)"}
    assert db.scalar(select(func.count(Building.id))) == 0
    out = tmp_path / "errors.xlsx"
    write_error_workbook(result, out)
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert "图形无效" in sheet.cell(3, 1).value and "Self-intersection" in sheet.cell(3, 1).value
    assert "请先写经度" in sheet.cell(4, 1).value
    assert "为空" in sheet.cell(5, 1).value
    assert "不是几何图形" in sheet.cell(6, 1).value


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_footprints_and_lines_round_trip_through_a_sheet(
    db: Session, place: Place, tmp_path: Path, suffix: str
) -> None:
    lon, lat = place.lon, place.lat
    rows = [building_row(place, i, square(lon + i * 1e-4 / 3, lat)) for i in range(1, 4)]
    rows.append(building_row(place, 9, ""))
    first = import_file(
        db, LedgerKind.BUILDINGS, xlsx(tmp_path / "b.xlsx", BUILDING_HEADER, rows), actor=None
    )
    assert (first.ok, first.inserted) == (True, 4)
    line = f"LINESTRING ({lon - 0.0003} {lat}, {lon + 0.000123456789} {lat + 0.0002})"
    comp = [["K-1", "C01001", "", "", "完好", lon, lat, line]]
    assert import_file(
        db, LedgerKind.COMPONENTS, xlsx(tmp_path / "c.xlsx", COMPONENT_HEADER, comp), actor=None
    ).ok
    for kind in (LedgerKind.BUILDINGS, LedgerKind.COMPONENTS):
        out = tmp_path / f"{kind.value}{suffix}"
        export_file(db, kind, out, territory=place.grid_code)
        again = import_file(db, kind, out, actor=None)
        assert (again.ok, again.inserted, again.updated) == (True, 0, 0), again.errors
    shape = db.scalar(select(Component.shape))
    assert json.loads(shape)["coordinates"][1] == [lon + 0.000123456789, lat + 0.0002]


def test_the_api_takes_and_gives_geojson_and_refuses_a_bowtie(
    client: TestClient, place: Place, bearer: Any
) -> None:
    auth = bearer(place.worker)
    body = cells(
        place,
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [place.lon, place.lat],
                    [place.lon + 1e-4, place.lat],
                    [place.lon, place.lat + 1e-4],
                    [place.lon, place.lat],
                ]
            ],
        },
    )
    made = client.post("/api/v1/ledger/buildings", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["footprint"]["type"] == "Polygon"
    rid = made.json()["id"]
    bad = client.patch(
        f"/api/v1/ledger/buildings/{rid}",
        json={"footprint": bowtie(place.lon, place.lat), "version": 1},
        headers=auth,
    )
    assert bad.status_code == 422
    error = bad.json()  # msgid and params, as every ledger API error, for the client to translate
    assert (error["field"], error["params"]["parts"]) == ("footprint", 2)
    assert "图形无效" in gettext("zh_CN", error["msgid"])
    cleared = client.patch(
        f"/api/v1/ledger/buildings/{rid}", json={"footprint": "", "version": 1}, headers=auth
    )
    assert cleared.json()["footprint"] is None and cleared.json()["version"] == 2


def test_the_edit_form_shows_wkt_and_takes_a_line(
    client: TestClient, db: Session, place: Place
) -> None:
    row = actions.add_record(
        db,
        LedgerKind.COMPONENTS,
        {"code": "K-9", "class_code": "C01001", "lon": place.lon, "lat": place.lat},
        actor=place.worker,
    )
    login(client, place.worker)
    page = client.get(f"/ledger/components/{row.id}")
    assert '<textarea id="f-shape" name="shape"' in page.text
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    one_point = f"LINESTRING ({place.lon} {place.lat}, {place.lon} {place.lat})"
    form = {"csrf_token": csrf, "version": "1", "shape": one_point}
    refused = client.post(f"/ledger/components/{row.id}", data=form, follow_redirects=False)
    assert refused.status_code == 422 and "图形无效" in refused.text
    line = f"LINESTRING ({place.lon} {place.lat}, {place.lon + 0.0002} {place.lat + 0.0001})"
    done = client.post(
        f"/ledger/components/{row.id}", data=form | {"shape": line}, follow_redirects=False
    )
    assert done.status_code == 303
    db.refresh(row)
    assert json.loads(row.shape)["type"] == "LineString"
    again = client.get(f"/ledger/components/{row.id}")
    assert f"LINESTRING ({place.lon} {place.lat}," in again.text


def test_the_book_map_draws_footprints_and_lines(db: Session, place: Place) -> None:
    from civgrid.grids.models import Grid

    actions.add_record(
        db, LedgerKind.BUILDINGS, cells(place, square(place.lon, place.lat)), actor=None
    )
    line = f"LINESTRING ({place.lon} {place.lat}, {place.lon + 0.0002} {place.lat})"
    actions.add_record(
        db,
        LedgerKind.COMPONENTS,
        {"code": "K-1", "class_code": "C01001", "lon": place.lon, "lat": place.lat, "shape": line},
        actor=None,
    )
    grid = db.scalar(select(Grid).where(Grid.code == place.grid_code))
    drawn = grid_map(db, grid)
    assert drawn.footprints.startswith("M") and drawn.footprints.endswith("Z")
    assert drawn.lines.startswith("M") and "Z" not in drawn.lines
