"""The planning page takes real files: GeoPackage, GeoJSON, zipped Shapefile; messy ones get a
clear localized error (never a 500) and nothing is stored; skipped and repaired features are
shown on the proposal."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.planning.models import GridProposal
from civgrid.planning.parcels import Parcel, write
from tests.grids.test_api import login_in
from tests.planning.conftest import wgs
from tests.planning.test_actions import VILLAGE, _territory
from tests.planning.test_pages import HTML, _csrf


def _lots() -> list[Parcel]:
    """Lots of 60 × 60 m with 30 households, a self-touching ring and two unusable features."""
    out = [
        Parcel(f"L{i}", wgs(shapely.box(x + 5, y + 5, x + 55, y + 55)), 30)
        for i, (x, y) in enumerate((x, y) for x in range(0, 900, 60) for y in range(0, 600, 60))
    ]
    ring = [
        (305, 305),
        (355, 305),
        (355, 355),
        (305, 355),
        (305, 305),
        (320, 330),
        (330, 330),
        (305, 305),
    ]
    out[0] = Parcel("L0", wgs(shapely.Polygon(ring)), 30)
    out.append(Parcel("nogeom", None, 4))
    out.append(Parcel("line", wgs(shapely.LineString([(10, 10), (40, 40)])), 2))
    return out


def _post(client, page: str, name: str, content: bytes, field: str = "units"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/planning/villages/{VILLAGE}/proposals",
        data={"csrf_token": _csrf(page), "band": "300:500", "households_field": field},
        files={"units": (name, content, "application/octet-stream")},
        headers=HTML,
        follow_redirects=False,
    )


@pytest.fixture
def page(db: Session, client, make_user) -> str:  # type: ignore[no-untyped-def]
    admin = make_user("admin", ("division", "441900101"))
    _territory(db)
    login_in(client, admin.username)
    r = client.get(f"/planning/villages/{VILLAGE}", headers=HTML)
    assert 'id="propose-form"' in r.text and "/static/planning/village.js" in r.text
    assert "<script>" not in r.text
    return r.text


def test_geopackage_with_broken_features_is_divided_and_notes_shown(
    db: Session,
    client,
    page: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "parcels.gpkg"
    write(path, _lots())
    r = _post(client, page, "parcels.gpkg", path.read_bytes())
    assert r.status_code == 303, r.text
    shown = client.get(r.headers["location"], headers={**HTML, "Accept-Language": "en"})
    assert "2 feature(s) skipped, 1 repaired." in shown.text
    assert "nogeom" not in shown.text  # labels are feature numbers: ids of the file's order
    assert "skipped, no geometry" in shown.text and "repaired invalid geometry" in shown.text


def test_zipped_shapefile_is_divided(db: Session, client, page: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lots = [p for p in _lots()[1:] if p.geometry is not None and p.geometry.geom_type == "Polygon"]
    pyogrio.raw.write(
        tmp_path / "lots.shp",
        geometry=shapely.to_wkb(np.asarray([p.geometry for p in lots], dtype=object)),
        field_data=[np.array([p.units for p in lots])],
        fields=["units"],
        crs="EPSG:4326",
        driver="ESRI Shapefile",
        geometry_type="Polygon",
    )
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as z:
        for f in tmp_path.glob("lots.*"):
            z.write(f, f"export/{f.name}")
    r = _post(client, page, "lots.zip", blob.getvalue())
    assert r.status_code == 303, r.text
    assert db.scalar(select(GridProposal.id)) is not None


@pytest.mark.parametrize(
    ("name", "content", "en", "zh"),
    [
        ("units.geojson", b"this is not geodata", "that can be read", "无法读取"),
        ("units.zip", b"PK\x03\x04 broken", "that can be read", "无法读取"),
        (
            "units.geojson",
            b'{"type": "FeatureCollection", "features": []}',
            "has no features",
            "没有要素",
        ),
        (
            "units.geojson",
            b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties":'
            b' {"units": 3}, "geometry": {"type": "Point", "coordinates": [512000, 2556000]}}]}',
            "coordinate reference system is wrong",
            "坐标参考系",
        ),
    ],
)
def test_messy_files_get_a_localized_error_and_nothing_is_stored(
    db: Session,
    client,
    page: str,
    name: str,
    content: bytes,
    en: str,
    zh: str,  # type: ignore[no-untyped-def]
) -> None:
    r = _post(client, page, name, content)
    assert r.status_code == 422
    assert zh in r.text and 'id="upload-error"' in r.text
    english = client.post(
        f"/planning/villages/{VILLAGE}/proposals?lang=en",
        data={"csrf_token": _csrf(page), "households_field": "units"},
        files={"units": (name, content, "application/octet-stream")},
        headers=HTML,
    )
    assert english.status_code == 422 and en in english.text
    assert db.scalar(select(GridProposal.id)) is None


def test_only_nan_coordinates_and_a_missing_attribute_are_named(
    db: Session,
    client,
    page: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    with np.errstate(invalid="ignore"):
        nan = shapely.Polygon([(113.75, 23.05), (float("nan"), 23.06), (113.76, 23.06)])
    path = tmp_path / "nan.gpkg"
    write(path, [Parcel("n1", nan, 3)])
    r = _post(client, page, "nan.gpkg", path.read_bytes())
    assert r.status_code == 422 and "no units with households" in r.text
    write(path, _lots())
    r = _post(client, page, "nan.gpkg", path.read_bytes(), field="households")
    assert r.status_code == 422 and "parcel_id, units" in r.text
    assert db.scalar(select(GridProposal.id)) is None
