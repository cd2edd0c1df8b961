"""The grid book: an A4 PDF whose Chinese text pdftotext can read back."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.models import Grid
from civgrid.ledger import actions
from civgrid.ledger.book import build_book
from civgrid.ledger.models import LedgerKind
from tests.ledger.conftest import Place, unit_cells
from tests.ledger.test_routes import login


def test_the_book_has_the_places_in_chinese(db: Session, place: Place, tmp_path: Path) -> None:
    actions.add_record(
        db, LedgerKind.UNITS, unit_cells(place, licence_expires="2020-01-01"), actor=None
    )
    for i in range(3):
        cells = {
            "address": f"石龙路12号3栋{i + 1}01",
            "households": 2,
            "lon": place.lon,
            "lat": place.lat,
        }
        actions.add_record(db, LedgerKind.DWELLINGS, cells, actor=None)
    actions.add_record(
        db,
        LedgerKind.COMPONENTS,
        {"class_code": "C01001", "lon": place.lon, "lat": place.lat},
        actor=None,
    )
    grid = db.scalar(select(Grid).where(Grid.code == place.grid_code))
    assert grid is not None
    pdf = build_book(db, grid, today=date(2026, 12, 7))
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "book.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "网格台账册",
        place.grid_code,
        "石碣好味餐馆",
        "石龙路12号3栋201",
        "户数合计 6 户",
        "供水井盖",
        "记事",
    ):
        assert expected in text, expected
    pages = subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "595.276 x 841.89 pts (A4)" in pages


def test_the_grid_page_shows_both_counts_and_offers_the_book(
    client: TestClient, db: Session, place: Place, make_user: Any
) -> None:
    actions.add_record(
        db,
        LedgerKind.DWELLINGS,
        {"address": "石龙路1号", "households": 7, "lon": place.lon, "lat": place.lat},
        actor=None,
    )
    login(client, place.worker)
    page = client.get(f"/ledger/grids/{place.grid_code}")
    assert page.status_code == 200
    assert 'id="ledger">7' in page.text
    book = client.get(f"/ledger/grids/{place.grid_code}/book.pdf")
    assert book.headers["content-type"] == "application/pdf"
    login(client, place.outsider)
    assert client.get(f"/ledger/grids/{place.grid_code}/book.pdf").status_code == 404


def test_the_grid_map_card_shows_the_ledger_count(
    client: TestClient, db: Session, place: Place, bearer: Any
) -> None:
    cells = {"address": "石龙路2号", "households": 4, "lon": place.lon, "lat": place.lat}
    actions.add_record(db, LedgerKind.DWELLINGS, cells, actor=None)
    grid = db.scalar(select(Grid).where(Grid.code == place.grid_code))
    assert grid is not None
    card = client.get(f"/api/v1/grids/{grid.id}", headers=bearer(place.worker)).json()
    card = card["properties"]["card"]
    assert card["ledger_households"] == 4
    assert card["households_difference"] == f"{4 - grid.households:+d}"
    assert card["ledger_page"] == f"/ledger/grids/{grid.code}"  # the way to the book


def test_the_ledger_list_of_a_grid_leads_to_its_page(
    client: TestClient, db: Session, place: Place
) -> None:
    login(client, place.worker)
    page = client.get(f"/ledger?kind=units&territory={place.grid_code}")
    assert f'href="/ledger/grids/{place.grid_code}"' in page.text
    assert 'href="/ledger/grids/' not in client.get("/ledger?kind=units").text
