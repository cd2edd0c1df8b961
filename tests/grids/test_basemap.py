"""The map context at /api/v1/grids/basemap (issue 19, point 19): roads, rivers and village
names from the territory data, public, clipped to an area, simplified for the zoom, cached;
and `civgrid grids features import` filing them from a GIS file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import LineString, shape
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from civgrid.cli import app as cli_app
from civgrid.grids.models import FeatureKind, TerritoryFeature
from civgrid.grids.overlays import replace_features, set_division_boundary
from tests.grids.conftest import LAT, LON, MX, M, sq

WEST, EAST = "441900101002", "441900101206"  # 城中社区, 四甲村: side by side, 1 km each
OTHER_TOWN = "441900102004"
URL = "/api/v1/grids/basemap"


def line(*points: tuple[float, float]) -> LineString:
    """A line through points given in metres east/north of (LON, LAT)."""
    return LineString([(LON + x * MX, LAT + y * M) for x, y in points])


@pytest.fixture
def territory(db: Session) -> None:
    set_division_boundary(db, WEST, sq(0, 0, 1000, 1000), actor=None)
    set_division_boundary(db, EAST, sq(1000, 0, 2000, 1000), actor=None)
    wiggle = [(x, 300 + 40 * np.sin(x / 15)) for x in np.linspace(0, 1000, 400)]
    replace_features(
        db,
        "441900101",
        [
            (FeatureKind.ROAD, "石碣大道", line((-800, 500), (2800, 500))),
            (FeatureKind.ROAD, "四甲路", line((1200, 200), (1800, 200))),
            (FeatureKind.ROAD, "", line((100, 100), (900, 100))),
            (FeatureKind.RIVER, "石碣涌", line(*wiggle)),
            (FeatureKind.RIVER, "鱼塘", sq(1300, 700, 1500, 900)),
            (FeatureKind.PROTECTED, "石碣中学", sq(200, 600, 400, 800)),
        ],
        actor=None,
    )
    replace_features(
        db, "441900102", [(FeatureKind.ROAD, "外镇路", line((9000, 0), (9500, 0)))], actor=None
    )


def get(client: TestClient, query: str = "", status: int = 200, **headers: str) -> Any:
    r = client.get(URL + query, headers=headers)
    assert r.status_code == status, r.text[:500]
    return r


def by_name(fc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["name"]: f for f in fc["features"] if f["properties"]["name"]}


def test_public_roads_rivers_and_village_names(client: TestClient, territory: None) -> None:
    r = get(client)  # no login: roads and rivers are public, nothing here is about a person
    assert r.headers["cache-control"] == "public, max-age=600"
    assert r.headers["etag"].startswith('"')
    assert "set-cookie" not in r.headers
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    named = by_name(fc)
    assert {n: f["properties"]["kind"] for n, f in named.items()} == {
        "石碣大道": "road",
        "四甲路": "road",
        "外镇路": "road",
        "石碣涌": "river",
        "鱼塘": "river",
        "城中社区": "village",  # 城中社区居民委员会, as a map names it
        "四甲村": "village",
    }
    assert len(fc["features"]) == 8  # and the unnamed road; never the protected site
    assert named["鱼塘"]["geometry"]["type"] == "Polygon"
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.index("river") < kinds.index("road")  # rivers first: roads drawn over them
    village = named["四甲村"]
    assert village["properties"]["code"] == EAST
    assert shape(village["geometry"]).within(sq(1000, 0, 2000, 1000))
    label = named["四甲路"]["properties"]["label"]
    assert (
        shape({"type": "Point", "coordinates": label}).distance(line((1200, 200), (1800, 200)))
        < 1e-6
    )


def test_clipped_to_a_village_with_a_margin(client: TestClient, territory: None) -> None:
    named = by_name(get(client, f"?area={WEST}").json())
    assert set(named) == {"石碣大道", "石碣涌", "城中社区"}
    road = shape(named["石碣大道"]["geometry"])
    west, _s, east, _n = road.bounds
    assert LON - 200 * MX < west < LON - 100 * MX  # about 150 m of the way in
    assert LON + 1100 * MX < east < LON + 1200 * MX  # not the whole 3.6 km
    town = by_name(get(client, "?area=441900101").json())
    assert set(town) == {"石碣大道", "四甲路", "石碣涌", "鱼塘", "城中社区", "四甲村"}
    assert by_name(get(client, f"?area={OTHER_TOWN}").json()) == {}  # no boundary on file


def test_simplified_for_low_zoom(client: TestClient, territory: None) -> None:
    def vertices(query: str) -> int:
        river = by_name(get(client, query).json())["石碣涌"]
        return len(river["geometry"]["coordinates"])

    assert vertices("") == vertices("?zoom=18") == 400
    assert vertices("?zoom=16") < 400
    assert vertices("?zoom=11") < vertices("?zoom=16")


def test_revalidation_by_etag(client: TestClient, db: Session, territory: None) -> None:
    etag = get(client, f"?area={WEST}&zoom=14").headers["etag"]
    r = get(client, f"?area={WEST}&zoom=14", status=304, **{"If-None-Match": etag})
    assert r.content == b"" and r.headers["etag"] == etag
    assert get(client, f"?area={EAST}&zoom=14").headers["etag"] != etag
    replace_features(db, "441900102", [], actor=None)  # the data changed: a new version
    get(client, f"?area={WEST}&zoom=14", status=200, **{"If-None-Match": etag})


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?area=441900101299", 404),  # no such division
        ("?area=4419001012", 422),  # not a division code
        ("?area=x", 422),
        ("?zoom=23", 422),
        ("?zoom=-1", 422),
    ],
)
def test_bad_queries(client: TestClient, territory: None, query: str, status: int) -> None:
    assert get(client, query, status).json()["detail"]


def test_the_demo_town_has_roads_and_rivers(db: Session) -> None:
    from civgrid.grids.demo_territory import generate_territory

    codes = [f"441900101{i:03d}" for i in range(1, 16)]
    town = generate_territory(codes)
    assert {n for n, _g in town.rivers} == {"东江", "石碣涌"}
    villages = shapely.union_all(list(town.villages.values()))
    # outside every village, so the division of the demo stays as it was
    assert all(not g.intersects(villages) for _n, g in town.rivers)
    assert all(g.distance(villages) < 0.0012 for _n, g in town.rivers)  # in the maps' margin


def _write(path: Path, geoms: list[Any], **fields: list[Any]) -> Path:
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


@pytest.fixture
def cli(db: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr("civgrid.grids.cli._session", lambda: contextlib.nullcontext(db))
    return CliRunner()


def features(db: Session) -> dict[str, str]:
    rows = db.scalars(
        select(TerritoryFeature).where(TerritoryFeature.territory_code == "441900101")
    )
    return {f.name: f.kind.value for f in rows}


def test_cli_imports_rivers_beside_the_roads(
    cli: CliRunner, client: TestClient, db: Session, territory: None, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "water.geojson",
        [line((0, 900), (2000, 950)), sq(100, 100, 300, 300)],
        kind=["river", "RIVER"],
        名称=["东江", "水塘"],
    )
    args = ["grids", "features", "import", "441900101", str(path), "--name-field", "名称"]
    r = cli.invoke(cli_app, args)
    assert r.exit_code == 0, r.output
    assert "2 × river" in r.output
    assert features(db) == {  # the rivers replaced; roads and sites stay
        "石碣大道": "road",
        "四甲路": "road",
        "": "road",
        "东江": "river",
        "水塘": "river",
        "石碣中学": "protected",
    }
    named = by_name(get(client, "?area=441900101").json())
    assert named["水塘"]["properties"]["kind"] == "river"


@pytest.mark.parametrize(
    ("geoms", "fields", "options", "message"),
    [
        ([sq(0, 0, 10, 10)], {"kind": ["road"]}, [], "a road cannot be a Polygon"),
        ([line((0, 0), (9, 9))], {"kind": ["lake"]}, [], "kind 'lake' is not one of"),
        ([line((0, 0), (9, 9))], {"n": ["x"]}, ["--kind", "pond"], "--kind must be one of"),
        ([line((0, 0), (9, 9))], {"name": ["x" * 101]}, ["--kind", "road"], "longer than 100"),
    ],
)
def test_cli_refuses_bad_files_and_keeps_what_was_there(
    cli: CliRunner,
    db: Session,
    territory: None,
    tmp_path: Path,
    geoms: list[Any],
    fields: dict[str, list[Any]],
    options: list[str],
    message: str,
) -> None:
    before = features(db)
    path = _write(tmp_path / "bad.geojson", geoms, **fields)
    r = cli.invoke(cli_app, ["grids", "features", "import", "441900101", str(path), *options])
    assert r.exit_code != 0
    assert message in " ".join(r.output.split())
    assert features(db) == before


def test_cli_refuses_an_unknown_territory(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path / "roads.geojson", [line((0, 0), (9, 9))], name=["x"])
    r = cli.invoke(
        cli_app, ["grids", "features", "import", "441900101299", str(path), "--kind", "road"]
    )
    assert r.exit_code == 1
    assert "unknown division code 441900101299" in r.output
