"""Excel and CSV in and out: template, all-or-nothing import with an error workbook,
idempotent re-import, export to .xlsx / .csv / .gpkg, and messy input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.errors import Invalid
from civgrid.ledger.exporter import export_file, write_template
from civgrid.ledger.importer import ERROR_HEADER, import_file, write_error_workbook
from civgrid.ledger.models import Dwelling, LedgerChange, LedgerKind, Unit
from civgrid.ledger.schemas import COLUMNS
from tests.ledger.conftest import Place

DWELLING_HEADER = [c.header for c in COLUMNS[LedgerKind.DWELLINGS]]


def xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    book.close()
    return path


def dwellings(place: Place, n: int = 3) -> list[list[Any]]:
    # code, address, building code, households, rental, vacant, lon, lat
    return [
        [
            "",
            f"石龙路12号3栋{100 + i}",
            "",
            i + 1,
            "是" if i % 2 else "否",
            "否",
            place.lon,
            place.lat,
        ]
        for i in range(n)
    ]


def test_template_has_both_headers_lists_and_an_example(tmp_path: Path) -> None:
    out = tmp_path / "units.xlsx"
    write_template(LedgerKind.UNITS, out)
    sheet = openpyxl.load_workbook(out).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert "单位名称 name" in header and "统一社会信用代码 credit code" in header
    kinds = [v for v in sheet.data_validations.dataValidation if "餐饮店" in (v.formula1 or "")]
    assert len(kinds) == 1
    assert sheet.cell(2, header.index("类型 kind") + 1).value == "餐饮店"


def test_import_then_reimport_changes_nothing(db: Session, place: Place, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "d.xlsx", DWELLING_HEADER, dwellings(place))
    first = import_file(db, LedgerKind.DWELLINGS, path, actor=place.worker)
    assert (first.ok, first.inserted, first.updated) == (True, 3, 0)
    again = import_file(db, LedgerKind.DWELLINGS, path, actor=place.worker)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert db.scalar(select(func.sum(Dwelling.households))) == 6
    assert db.scalar(select(func.count(LedgerChange.id))) == 3


def test_a_changed_row_updates_by_normalised_address(
    db: Session, place: Place, tmp_path: Path
) -> None:
    import_file(
        db,
        LedgerKind.DWELLINGS,
        xlsx(tmp_path / "a.xlsx", DWELLING_HEADER, dwellings(place)),
        actor=None,
    )
    rows = dwellings(place)
    rows[0][1] = "石龙路 12号 3栋 １００"  # spaces and a full-width number: the same address
    rows[0][3] = 5
    result = import_file(
        db, LedgerKind.DWELLINGS, xlsx(tmp_path / "b.xlsx", DWELLING_HEADER, rows), actor=None
    )
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    assert db.scalar(select(func.sum(Dwelling.households))) == 10


def test_bad_rows_import_nothing_and_name_the_cells(
    db: Session, place: Place, tmp_path: Path
) -> None:
    rows = dwellings(place, 6)
    rows[1][3] = "三户"  # not a number
    rows[2][6] = 100.0  # outside every grid
    rows[3][1] = rows[0][1]  # duplicate key
    rows[4][4] = "也许"  # not yes/no
    path = xlsx(tmp_path / "bad.xlsx", DWELLING_HEADER, rows)
    result = import_file(db, LedgerKind.DWELLINGS, path, actor=None)
    assert not result.ok
    assert [e.row for e in result.errors] == [3, 4, 5, 6]
    assert db.scalar(select(func.count(Dwelling.id))) == 0
    out = tmp_path / "errors.xlsx"
    write_error_workbook(result, out)
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert sheet.cell(1, 1).value == ERROR_HEADER
    assert sheet.cell(2, 1).value in ("", None)
    assert "户数 households" in sheet.cell(3, 1).value and "三户" in sheet.cell(3, 1).value
    assert "网格" in sheet.cell(4, 1).value
    assert sheet.cell(5, 1).value == "编码 code: 重复：与第 2 行相同"
    assert sheet.cell(3, 5).value == "三户"  # the original row is kept as it was


def test_a_wrong_code_and_a_bad_date_in_units(db: Session, place: Place, tmp_path: Path) -> None:
    header = [c.header for c in COLUMNS[LedgerKind.UNITS]]
    good = [
        "U1",
        "好味餐馆",
        "",
        "餐饮店",
        "石龙路1号",
        "",
        "2027-01-01",
        "合格",
        "店长",
        "0769-1234567",
        place.lon,
        place.lat,
    ]
    bad_kind = ["U2", "小店", "", "赌档", "", "", "", "", "", "", place.lon, place.lat]
    bad_date = ["U3", "小店", "", "商店", "", "", "明年", "", "", "", place.lon, place.lat]
    result = import_file(
        db,
        LedgerKind.UNITS,
        xlsx(tmp_path / "u.xlsx", header, [good, bad_kind, bad_date]),
        actor=None,
    )
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "类型 kind"),
        (4, "许可证有效期至 licence expires"),
    ]
    assert db.scalar(select(func.count(Unit.id))) == 0


def test_not_a_spreadsheet_and_too_big(db: Session, tmp_path: Path) -> None:
    fake = tmp_path / "photo.xlsx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(Invalid) as caught:
        import_file(db, LedgerKind.UNITS, fake, actor=None)
    assert "not a spreadsheet" in caught.value.message
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(Invalid) as caught:
        import_file(db, LedgerKind.UNITS, huge, actor=None)
    assert "larger than" in caught.value.message
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(Invalid):
        import_file(db, LedgerKind.UNITS, pdf, actor=None)


def test_csv_in_gb18030_with_english_headers(db: Session, place: Place, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    lines = ["address,households,longitude,latitude", f"石龙路8号,2,{place.lon},{place.lat}"]
    path.write_bytes("\n".join(lines).encode("gb18030"))
    result = import_file(db, LedgerKind.DWELLINGS, path, actor=None)
    assert (result.ok, result.inserted) == (True, 1)
    assert db.scalar(select(Dwelling.address)) == "石龙路8号"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".gpkg"])
def test_export_round_trips(db: Session, place: Place, tmp_path: Path, suffix: str) -> None:
    import_file(
        db,
        LedgerKind.DWELLINGS,
        xlsx(tmp_path / "in.xlsx", DWELLING_HEADER, dwellings(place)),
        actor=None,
    )
    out = tmp_path / f"out{suffix}"
    assert export_file(db, LedgerKind.DWELLINGS, out, territory=place.grid_code) == 3
    if suffix == ".gpkg":
        import pyogrio

        frame = pyogrio.read_dataframe(out)
        assert sorted(frame["households"].astype(int)) == [1, 2, 3]
        return
    again = import_file(db, LedgerKind.DWELLINGS, out, actor=None)
    assert (again.ok, again.inserted, again.updated, again.unchanged) == (True, 0, 0, 3)
