"""The licences sheet (证照表): template, all-or-nothing import naming the unit by its code or its
credit code, idempotent re-import, export round trip, messy files; the CLI and the pages."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from civgrid.errors import Forbidden, Invalid
from civgrid.ledger import actions
from civgrid.ledger.exporter import export_file, write_template
from civgrid.ledger.importer import ERROR_HEADER, import_file, write_error_workbook
from civgrid.ledger.models import LedgerChange, LedgerKind, LicenceKind, Unit, UnitLicence
from civgrid.ledger.schemas import LICENCE_COLUMNS, LicenceSheet
from tests.ledger.conftest import Place, unit_cells
from tests.ledger.test_excel import xlsx
from tests.ledger.test_routes import login

LICENCES = LicenceSheet.LICENCES
HEADER = [
    c.header for c in LICENCE_COLUMNS
]  # unit code, credit code, kind, number, issuer, expires
CREDIT = "91441900MA4UABCD1X"
OTHER_CREDIT = "92441900MA4UABCD2Y"


def units(db: Session, place: Place) -> tuple[Unit, Unit]:
    """U-1 with its main licence from the units sheet, U-2 without a licence."""
    first = actions.add_record(
        db,
        LedgerKind.UNITS,
        unit_cells(place, code="U-1", credit_code=CREDIT, licence_no="JY1"),
        actor=None,
    )
    second = actions.add_record(
        db,
        LedgerKind.UNITS,
        unit_cells(place, code="U-2", name="石碣五金店", kind="商店", licence_expires=""),
        actor=None,
    )
    return first, second


def rows() -> list[list[Any]]:
    return [
        ["U-1", "", "食品经营许可证", "JY-F-1", "东莞市市场监督管理局", "2027-03-31"],
        ["", CREDIT, "卫生许可证", "WS-9", "", "2026/12/31"],
        ["U-2", "", "营业执照", "YY-2", "", ""],
    ]


def count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_the_template_has_both_headers_the_kind_list_and_an_example(tmp_path: Path) -> None:
    out = tmp_path / "licences.xlsx"
    write_template(LICENCES, out)
    book = openpyxl.load_workbook(out)
    sheet = book.worksheets[0]
    assert sheet.title == "证照"
    header = [c.value for c in sheet[1]]
    assert header == [
        "单位编码 unit code",
        "统一社会信用代码 credit code",
        "证照类型 licence kind",
        "证照编号 licence no.",
        "发证机关 issuer",
        "有效期至 expires",
    ]
    lists = [v.formula1 or "" for v in sheet.data_validations.dataValidation]
    assert len(lists) == 1 and "食品经营许可证" in lists[0] and "营业执照" in lists[0]
    assert [c.value for c in sheet[2]][2:4] == ["食品经营许可证", "JY14419000000001"]
    assert "统一社会信用代码" in book.worksheets[1].cell(2, 1).value


def test_import_by_code_or_credit_code_then_again_changes_nothing(
    db: Session, place: Place, tmp_path: Path
) -> None:
    first, second = units(db, place)
    path = xlsx(tmp_path / "l.xlsx", HEADER, rows())
    result = import_file(db, LICENCES, path, actor=place.worker)
    assert (result.ok, result.inserted, result.updated, result.unchanged) == (True, 3, 0, 0)
    held = {(lic.unit_id, lic.number): lic for lic in db.scalars(select(UnitLicence))}
    assert held[(first.id, "JY-F-1")].kind == LicenceKind.FOOD
    assert held[(first.id, "JY-F-1")].expires_on == date(2027, 3, 31)
    assert held[(first.id, "WS-9")].expires_on == date(2026, 12, 31)
    assert not held[(first.id, "JY-F-1")].is_main and held[(first.id, "JY1")].is_main
    assert held[(second.id, "YY-2")].is_main  # its first licence
    history = db.scalars(select(LedgerChange).where(LedgerChange.action == "imported")).all()
    assert sorted(h.record_id for h in history) == [first.id, second.id]  # one row a unit
    assert db.get(Unit, first.id).version == 2  # type: ignore[union-attr]
    assert "食品经营许可证 JY-F-1 · 有效期至 expires" in next(
        h.changes for h in history if h.record_id == first.id
    )
    changes_before = count(db, LedgerChange)
    again = import_file(db, LICENCES, path, actor=place.worker)
    assert (again.ok, again.inserted, again.updated, again.unchanged) == (True, 0, 0, 3)
    assert count(db, LedgerChange) == changes_before and count(db, UnitLicence) == 4


def test_a_row_renews_a_licence_and_brings_a_retired_one_back(
    db: Session, place: Place, tmp_path: Path
) -> None:
    first, _second = units(db, place)
    import_file(db, LICENCES, xlsx(tmp_path / "a.xlsx", HEADER, rows()), actor=None)
    food = db.scalar(select(UnitLicence).where(UnitLicence.number == "JY-F-1"))
    assert food is not None
    actions.retire_licence(db, db.get(Unit, first.id), food.id, actor=None)  # type: ignore[arg-type]
    renewed = rows()
    renewed[0][5] = "2029年3月31日"
    renewed[1][4] = "东莞市卫生健康局"
    result = import_file(db, LICENCES, xlsx(tmp_path / "b.xlsx", HEADER, renewed), actor=None)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 1)
    db.refresh(food)
    assert food.retired_at is None and food.expires_on == date(2029, 3, 31)
    last = db.scalars(
        select(LedgerChange).where(LedgerChange.record_id == first.id).order_by(LedgerChange.id)
    ).all()[-1]
    assert last.action == "imported"
    assert last.changes["食品经营许可证 JY-F-1 · 有效期至 expires"] == ["2027-03-31", "2029-03-31"]
    assert last.changes["卫生许可证 WS-9 · 发证机关 issuer"] == ["", "东莞市卫生健康局"]


def test_messy_rows_import_nothing_and_are_named_by_row(
    db: Session, place: Place, tmp_path: Path
) -> None:
    first, second = units(db, place)
    actions.retire_record(db, LedgerKind.UNITS, second, actor=None, reason="已搬走")
    bad = [
        ["U-1", "", "食品经营许可证", "F-1", "", "2027-03-31"],  # 2: good
        ["U-1", "", "卫生许可证", "W-1", "", "明年"],  # 3: not a date
        ["U-1", "", "卫生许可证", "W-2", "", "2027-02-30"],  # 4: no such day
        ["U-404", "", "卫生许可证", "W-3", "", ""],  # 5: unknown unit
        ["", "91441900MA4UYYYY9X", "卫生许可证", "W-4", "", ""],  # 6: unknown credit code
        ["", "123", "卫生许可证", "W-5", "", ""],  # 7: not a credit code
        ["U-1", "", "食品经营许可证", "F-1", "", "2028-01-01"],  # 8: same as row 2
        ["", CREDIT, "食品经营许可证", "F-1", "", ""],  # 9: the same licence by credit code
        ["U-1", OTHER_CREDIT, "卫生许可证", "W-6", "", ""],  # 10: code and credit disagree
        ["U-2", "", "营业执照", "Y-1", "", ""],  # 11: retired unit
        ["U-1", "", "赌场许可证", "X-1", "", ""],  # 12: kind not in the list
        ["U-1", "", "卫生许可证", "", "", ""],  # 13: no number
        ["", "", "卫生许可证", "W-7", "", ""],  # 14: no unit at all
    ]
    licences, changes = count(db, UnitLicence), count(db, LedgerChange)
    result = import_file(db, LICENCES, xlsx(tmp_path / "bad.xlsx", HEADER, bad), actor=None)
    assert not result.ok
    assert [e.row for e in result.errors] == list(range(3, 15))
    assert (count(db, UnitLicence), count(db, LedgerChange)) == (licences, changes)
    out = tmp_path / "errors.xlsx"
    write_error_workbook(result, out)
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert sheet.cell(1, 1).value == ERROR_HEADER and sheet.cell(2, 1).value in ("", None)
    said = {r: sheet.cell(r, 1).value for r in range(3, 15)}
    assert said[3].startswith("有效期至 expires") and "明年" in said[3]
    assert "2027-02-30" in said[4]
    assert "U-404" in said[5] and "91441900MA4UYYYY9X" in said[6]
    assert said[7].startswith("统一社会信用代码 credit code")
    assert said[8] == "证照编号 licence no.: 重复：与第 2 行相同"
    assert said[9] == said[8]
    assert said[10].startswith("单位编码 unit code")
    assert said[11].startswith("单位编码 unit code") and "注销" in said[11]
    assert said[12].startswith("证照类型 licence kind")
    assert said[13].startswith("证照编号 licence no.")
    assert said[14].startswith("单位编码 unit code")
    assert sheet.cell(3, 7).value == "明年"  # the original row, as it was
    assert first.id  # (the unit is still there, untouched)


def test_a_credit_code_two_units_share_needs_the_unit_code(
    db: Session, place: Place, tmp_path: Path
) -> None:
    units(db, place)
    actions.add_record(
        db,
        LedgerKind.UNITS,
        unit_cells(place, code="U-3", name="好味餐馆二店", credit_code=CREDIT),
        actor=None,
    )
    shared = [
        ["", CREDIT, "卫生许可证", "W-1", "", ""],
        ["U-3", CREDIT, "卫生许可证", "W-1", "", ""],
    ]
    result = import_file(db, LICENCES, xlsx(tmp_path / "s.xlsx", HEADER, shared), actor=None)
    assert [(e.row, e.params) for e in result.errors] == [(2, {"n": 2})]
    assert "give the unit code" in result.errors[0].text("en")


def test_broken_files_and_headers_are_refused(db: Session, place: Place, tmp_path: Path) -> None:
    units(db, place)
    broken = tmp_path / "broken.xlsx"
    good = xlsx(tmp_path / "good.xlsx", HEADER, rows()).read_bytes()
    broken.write_bytes(good[: len(good) // 2])  # a cut-off download
    with pytest.raises(Invalid) as caught:
        import_file(db, LICENCES, broken, actor=None)
    assert "not a spreadsheet" in caught.value.message
    no_unit = xlsx(tmp_path / "h.xlsx", HEADER[2:], [row[2:] for row in rows()])
    with pytest.raises(Invalid) as caught:
        import_file(db, LICENCES, no_unit, actor=None)
    assert "单位编码 unit code / 统一社会信用代码 credit code" in caught.value.message
    assert count(db, UnitLicence) == 1


def test_only_units_the_importer_may_change(db: Session, place: Place, tmp_path: Path) -> None:
    units(db, place)
    path = xlsx(tmp_path / "l.xlsx", HEADER, rows())
    result = import_file(db, LICENCES, path, actor=place.outsider)
    assert [e.row for e in result.errors] == [2, 3, 4]  # the units are not in their grids
    with pytest.raises(Forbidden):
        import_file(db, LICENCES, path, actor=place.handler)
    assert count(db, UnitLicence) == 1


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".gpkg"])
def test_export_round_trips(db: Session, place: Place, tmp_path: Path, suffix: str) -> None:
    units(db, place)
    import_file(db, LICENCES, xlsx(tmp_path / "in.xlsx", HEADER, rows()), actor=None)
    out = tmp_path / f"out{suffix}"
    assert export_file(db, LICENCES, out, territory=place.grid_code, user=place.worker) == 4
    assert export_file(db, LICENCES, tmp_path / f"none{suffix}", territory="4419001020") == 0
    if suffix == ".gpkg":
        import pyogrio

        frame = pyogrio.read_dataframe(out)
        assert sorted(frame["number"]) == ["JY-F-1", "JY1", "WS-9", "YY-2"]
        assert frame.geometry.iloc[0].x == pytest.approx(place.lon)
        return
    again = import_file(db, LICENCES, out, actor=None)
    assert (again.ok, again.inserted, again.updated, again.unchanged) == (True, 0, 0, 4)


def test_cli_template_import_and_export(
    db: Session, place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import nullcontext

    from civgrid.cli import app
    from civgrid.ledger import cli

    monkeypatch.setattr(cli, "_session", lambda: nullcontext(db))  # the test's transaction
    units(db, place)
    runner = CliRunner()
    template = tmp_path / "t.xlsx"
    r = runner.invoke(app, ["ledger", "template", "licences", "--out", str(template)])
    assert r.exit_code == 0, r.output
    bad = xlsx(tmp_path / "bad.xlsx", HEADER, [["U-404", "", "营业执照", "Y", "", "明天"]])
    r = runner.invoke(app, ["ledger", "import", "licences", str(bad)])
    assert r.exit_code == 1 and "nothing imported" in r.output
    assert (tmp_path / "bad.errors.xlsx").exists()
    good = xlsx(tmp_path / "good.xlsx", HEADER, rows())
    r = runner.invoke(app, ["ledger", "import", "licences", str(good)])
    assert r.exit_code == 0 and "3 added" in r.output, r.output
    out = tmp_path / "out.csv"
    r = runner.invoke(
        app, ["ledger", "export", "licences", "--grid", place.grid_code, "--out", str(out)]
    )
    assert r.exit_code == 0 and "wrote 4 records" in r.output, r.output
    assert "东莞市市场监督管理局" in out.read_text(encoding="utf-8-sig")


def test_the_units_page_offers_the_licences_sheet(
    client: TestClient, db: Session, place: Place, bearer: Any
) -> None:
    units(db, place)
    login(client, place.worker)
    page = client.get("/ledger?kind=units")
    assert 'action="/ledger/licences/import"' in page.text
    assert 'href="/ledger/licences/template.xlsx"' in page.text
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    template = client.get("/ledger/licences/template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert book.worksheets[0].cell(1, 3).value == "证照类型 licence kind"
    csv = "\n".join(",".join(str(c) for c in row) for row in [HEADER, *rows()]).encode()
    done = client.post(
        "/ledger/licences/import",
        files={"file": ("l.csv", csv, "text/csv")},
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/ledger?kind=units&imported=1"
    exported = client.get(f"/ledger/licences/export.csv?territory={place.grid_code}")
    assert "JY-F-1" in exported.content.decode("utf-8-sig")
    refused = client.post(
        "/ledger/licences/import",
        files={"file": ("l.csv", b"kind,number\nfood,F\n", "text/csv")},
        data={"csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 422 and "表头缺少必填列" in refused.text
    api = client.post(
        "/api/v1/ledger/licences/import",
        files={"file": ("l.csv", csv.replace(b"U-2", b"U-9"), "text/csv")},
        headers=bearer(place.worker),
    )
    assert api.status_code == 422 and api.headers["X-Import-Errors"] == "1"
    assert "U-9" in openpyxl.load_workbook(io.BytesIO(api.content)).worksheets[0].cell(4, 1).value
    headers = bearer(place.outsider)
    outside = client.get("/api/v1/ledger/licences/export/csv", headers=headers)
    assert outside.status_code == 200 and "JY-F-1" not in outside.content.decode("utf-8-sig")
    client.cookies.clear()  # signed out
    assert client.get("/api/v1/ledger/licences/template.xlsx").status_code == 401
