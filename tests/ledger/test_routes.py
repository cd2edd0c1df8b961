"""Ledger HTTP: API scope (401/403/404), lists, detail with history, files, map layer."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.ledger import actions
from civgrid.ledger.models import LedgerKind, Unit
from tests.ledger.conftest import Place, unit_cells


def login(client: TestClient, user: Any) -> None:
    from tests.conftest import PASSWORD

    page = client.get("/login")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text


def test_api_four_cases(client: TestClient, db: Session, place: Place, bearer: Any) -> None:
    unit = actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.worker)
    url = f"/api/v1/ledger/units/{unit.id}"
    assert client.get(url).status_code == 401
    assert client.patch(url, json={"name": "x"}, headers=bearer(place.handler)).status_code == 403
    assert client.get(url, headers=bearer(place.outsider)).status_code == 404
    r = client.get(url, headers=bearer(place.worker))
    assert r.status_code == 200
    assert r.json()["history"][0]["action"] == "created"


def test_api_add_correct_retire_and_list(client: TestClient, place: Place, bearer: Any) -> None:
    headers = bearer(place.worker)
    r = client.post("/api/v1/ledger/units", json=unit_cells(place), headers=headers)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = client.patch(
        f"/api/v1/ledger/units/{uid}", json={"version": 1, "fire_status": "hazard"}, headers=headers
    )
    assert r.json()["fire_status"] == "hazard"
    stale = client.patch(
        f"/api/v1/ledger/units/{uid}", json={"version": 1, "name": "x"}, headers=headers
    )
    assert stale.status_code == 409
    bad = client.post(
        "/api/v1/ledger/units", json=unit_cells(place, code="U-2", kind="赌档"), headers=headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "kind"
    listed = client.get("/api/v1/ledger/units?q=haowei", headers=headers).json()
    assert listed["total"] == 0  # names are searched as written; pinyin is for addresses
    listed = client.get("/api/v1/ledger/units?q=好味", headers=headers).json()
    assert [i["code"] for i in listed["items"]] == ["U-0001"]
    r = client.post(f"/api/v1/ledger/units/{uid}/retire", json={"reason": "关店"}, headers=headers)
    assert r.json()["retired"] is True
    assert client.get("/api/v1/ledger/units", headers=headers).json()["total"] == 0


def test_addresses_are_found_by_pinyin(client: TestClient, place: Place, bearer: Any) -> None:
    headers = bearer(place.worker)
    cells = {
        "road": "石龙路",
        "number": "12号",
        "compound": "锦绣花园",
        "lon": place.lon,
        "lat": place.lat,
    }
    assert client.post("/api/v1/ledger/addresses", json=cells, headers=headers).status_code == 201
    for q in ("shilonglu", "jxhy", "锦绣 12号"):
        found = client.get("/api/v1/ledger/addresses", params={"q": q}, headers=headers).json()
        assert [i["road"] for i in found["items"]] == ["石龙路"], q


def test_map_layer_points_then_clusters(
    db: Session, client: TestClient, place: Place, bearer: Any, monkeypatch: Any
) -> None:
    from civgrid.ledger import service

    for i in range(5):
        cells = unit_cells(place, code=f"U-{i}", lon=place.lon + i * 0.0005)
        actions.add_record(db, LedgerKind.UNITS, cells, actor=None)
    bbox = f"{place.lon - 0.01},{place.lat - 0.01},{place.lon + 0.01},{place.lat + 0.01}"
    headers = bearer(place.worker)
    points = client.get(f"/api/v1/ledger/units/layer?bbox={bbox}", headers=headers).json()
    assert (points["clustered"], len(points["points"])) == (False, 5)
    monkeypatch.setattr(service, "CLUSTER_ABOVE", 2)
    clusters = client.get(f"/api/v1/ledger/units/layer?bbox={bbox}", headers=headers).json()
    assert clusters["clustered"] is True
    assert sum(c["count"] for c in clusters["clusters"]) == 5
    assert (
        client.get(
            f"/api/v1/ledger/units/layer?bbox={bbox}", headers=bearer(place.outsider)
        ).json()["total"]
        == 0
    )


def test_pages_list_detail_correct_and_files(client: TestClient, db: Session, place: Place) -> None:
    unit = actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.worker)
    login(client, place.worker)
    page = client.get("/ledger?kind=units")
    assert page.status_code == 200 and "石碣好味餐馆" in page.text
    detail = client.get(f"/ledger/units/{unit.id}")
    assert "新建" in detail.text
    token = detail.text.split('name="csrf-token" content="')[1].split('"')[0]
    form = {
        "csrf_token": token,
        "version": "1",
        "name": "好味餐馆（新）",
        "kind": "餐饮店",
        "fire_status": "合格",
        "lon": str(place.lon),
        "lat": str(place.lat),
    }
    r = client.post(f"/ledger/units/{unit.id}", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert db.scalar(select(Unit.name).where(Unit.id == unit.id)) == "好味餐馆（新）"
    template = client.get("/ledger/units/template.xlsx")
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert book.worksheets[0].cell(1, 2).value == "单位名称 name"
    exported = client.get(f"/ledger/units/export.csv?territory={place.grid_code}")
    assert "好味餐馆（新）" in exported.content.decode("utf-8-sig")
    upload = client.post(
        "/ledger/units/import",
        files={
            "file": (
                "u.csv",
                "name,kind,longitude,latitude\n店,赌档,113.805,23.095\n".encode(),
                "text/csv",
            )
        },
        data={"csrf_token": token},
    )
    assert upload.status_code == 422
    assert (
        openpyxl.load_workbook(io.BytesIO(upload.content))
        .worksheets[0]
        .cell(2, 1)
        .value.startswith("类型 kind")
    )
    assert db.scalar(select(func.count(Unit.id))) == 1


def test_list_query_count_does_not_grow_with_rows(
    client: TestClient, db: Session, place: Place, bearer: Any
) -> None:
    from sqlalchemy import event

    headers = bearer(place.worker)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def listed() -> int:
        statements.clear()
        event.listen(db.get_bind(), "before_cursor_execute", count)
        try:
            assert client.get("/api/v1/ledger/units", headers=headers).status_code == 200
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", count)
        return len(statements)

    listed()
    actions.add_record(db, LedgerKind.UNITS, unit_cells(place, code="Q-0"), actor=None)
    baseline = listed()
    for i in range(1, 6):
        actions.add_record(db, LedgerKind.UNITS, unit_cells(place, code=f"Q-{i}"), actor=None)
    assert listed() == baseline


def test_the_field_app_adds_a_place_or_says_what_is_wrong(
    client: TestClient, db: Session, place: Place
) -> None:
    login(client, place.worker)
    page = client.get("/field/ledger/new?kind=units")
    assert page.status_code == 200 and 'id="locate-me"' in page.text
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    form = {"csrf_token": token, "name": "新开小店", "kind": "商店", "lon": str(place.lon)}
    bad = client.post("/field/ledger/new?kind=units", data=form | {"lat": "北纬23度"})
    assert bad.status_code == 422
    assert "不是数字" in bad.text and 'value="新开小店"' in bad.text
    assert db.scalar(select(func.count(Unit.id))) == 0
    good = client.post(
        "/field/ledger/new?kind=units", data=form | {"lat": str(place.lat)}, follow_redirects=False
    )
    assert good.status_code == 303 and good.headers["location"].startswith("/ledger/units/")
    assert db.scalar(select(Unit.grid_code)) == place.grid_code


def test_a_refused_upload_says_why_in_chinese(client: TestClient, place: Place) -> None:
    login(client, place.worker)
    page = client.get("/ledger?kind=units")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    r = client.post(
        "/ledger/units/import",
        files={"file": ("u.csv", b"name,longitude\nx,113.8\n", "text/csv")},
        data={"csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 422
    assert "表头缺少必填列：类型 kind" in r.text


def test_ids_beyond_an_integer_are_4xx(client: TestClient, place: Place, bearer: Any) -> None:
    headers = bearer(place.worker)
    huge = 99999999999999999999
    assert client.get(f"/api/v1/ledger/units/{huge}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/ledger/units/{2**31}", headers=headers).status_code == 404
    form = f"/field/inspections/form?template={huge}&kind=units&target=1"
    assert client.get(form, headers=headers).status_code == 422
    body = {
        "client_key": "draft-0001",
        "template_id": huge,
        "kind": "units",
        "target_id": 1,
        "results": [],
    }
    assert client.post("/api/v1/inspections/records", json=body, headers=headers).status_code == 422
    assert client.get("/api/v1/ledger/units/layer?bbox=1,2,3", headers=headers).status_code == 422
    assert client.get("/api/v1/ledger/people", headers=headers).status_code == 422


@pytest.mark.parametrize(
    "bbox", ["84.3788.0,3065,450,40.1", "-.9698.306,1,2,3", ".,.,.,.", "1,2,3,4" + "0" * 400]
)
def test_a_malformed_map_box_is_a_422(
    client: TestClient, place: Place, bearer: Any, bbox: str
) -> None:
    r = client.get(f"/api/v1/ledger/units/layer?bbox={bbox}", headers=bearer(place.worker))
    assert r.status_code == 422, r.text
