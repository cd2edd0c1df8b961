"""Ledger files out: the Excel template of a kind, and exports to .xlsx, .csv or .gpkg."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.errors import Invalid
from civgrid.ledger.licence_sheet import EXTRA as LICENCE_EXTRA
from civgrid.ledger.licence_sheet import licence_rows
from civgrid.ledger.models import MODELS, LedgerKind
from civgrid.ledger.schemas import COLUMNS, LicenceSheet, Sheet, sheet_columns
from civgrid.ledger.service import ledger_query
from civgrid.web.i18n import N_

EXPORT_SUFFIXES = (".xlsx", ".csv", ".gpkg")
EXTRA = (("grid_code", "网格编码 grid code"), ("version", "版本 version"))


NOTES = (
    "第2行为示例，导入前请删除或覆盖。 Row 2 is an example: replace it.",
    "编码留空时按规范化地址匹配。 Without a code, rows match by normalised address.",
)
LICENCE_NOTES = (
    "第2行为示例，导入前请删除或覆盖。 Row 2 is an example: replace it.",
    "每行一个证照；填单位编码或统一社会信用代码（二者填其一即可）。"
    " One licence a row; give the unit code or the unit's credit code.",
    "按单位、证照类型和编号匹配：已有的证照更新发证机关和有效期，表中没有的证照不变。"
    " Rows match by unit, kind and number: a known licence gets the row's issuer and expiry;"
    " licences not in the sheet are left as they are.",
)


def write_template(kind: Sheet, out: Path | io.BytesIO) -> None:
    """An import template: zh-CN and en headers, choice lists on coded columns, an example row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"in_memory": isinstance(out, io.BytesIO)})
    sheet = book.add_worksheet(kind.label_zh)
    head = book.add_format({"bold": True, "bg_color": "#dbe9f6", "text_wrap": True, "border": 1})
    example = book.add_format({"italic": True, "font_color": "#666666"})
    columns = sheet_columns(kind)
    for i, col in enumerate(columns):
        sheet.write(0, i, col.header, head)
        sheet.set_column(i, i, max(12, len(col.header) + 4))
        sheet.write(1, i, col.example, example)
        if col.choices:
            sheet.data_validation(
                1, i, 100_000, i, {"validate": "list", "source": list(col.choices)}
            )
        if col.required:
            sheet.write_comment(0, i, "必填 required")
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet("说明 notes")
    for i, line in enumerate(LICENCE_NOTES if isinstance(kind, LicenceSheet) else NOTES):
        notes.write(i, 0, line)
    book.close()


def _value(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return getattr(value, "label_zh", value.value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    return value


def export_rows(
    db: Session, kind: Sheet, user: User | None, territory: str
) -> tuple[list[str], list[str], Iterator[tuple[Any, list[Any]]]]:
    """Headers, field names, and (record, cells) for each current record of a kind (or each
    current licence) in a territory; a record has the ``lon`` and ``lat`` of its point."""
    if isinstance(kind, LicenceSheet):
        fields = [c.field for c in sheet_columns(kind)] + [f for f, _ in LICENCE_EXTRA]
        header = [c.header for c in sheet_columns(kind)] + [label for _, label in LICENCE_EXTRA]
        return header, fields, licence_rows(db, user, territory)
    columns = COLUMNS[kind]
    header = [c.header for c in columns] + [label for _, label in EXTRA]
    fields = [c.field for c in columns] + [f for f, _ in EXTRA]
    query = ledger_query(kind, user, territory=territory)

    def rows() -> Iterator[tuple[Any, list[Any]]]:
        for row in db.scalars(query.execution_options(yield_per=2000)):
            cells = [
                c.show(getattr(row, c.field)) if c.show else _value(getattr(row, c.field))
                for c in columns
            ]
            yield row, cells + [getattr(row, f) for f, _ in EXTRA]

    return header, fields, rows()


def export_file(
    db: Session, kind: Sheet, out: Path, *, territory: str, user: User | None = None
) -> int:
    """Write the kind's records (or the licences) in a grid or division to .xlsx, .csv or
    .gpkg (a licence at its unit's point); the row count."""
    suffix = out.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise Invalid(N_("export to .xlsx, .csv or .gpkg"))
    header, fields, rows = export_rows(db, kind, user, territory)
    if suffix == ".csv":
        return _csv(out, header, rows)
    if suffix == ".xlsx":
        return _xlsx(out, kind, header, rows)
    return _gpkg(out, kind, fields, rows)


def _csv(out: Path, header: list[str], rows: Iterator[tuple[Any, list[Any]]]) -> int:
    count = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:  # Excel reads the BOM as UTF-8
        writer = csv.writer(fh)
        writer.writerow(header)
        for _row, cells in rows:
            writer.writerow(cells)
            count += 1
    return count


def _xlsx(
    out: Path | io.BytesIO,
    kind: Sheet,
    header: list[str],
    rows: Iterator[tuple[Any, list[Any]]],
) -> int:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        out, {"constant_memory": True, "in_memory": isinstance(out, io.BytesIO)}
    )
    sheet = book.add_worksheet(kind.label_zh)
    sheet.write_row(0, 0, header, book.add_format({"bold": True}))
    count = 0
    for count, (_row, cells) in enumerate(rows, start=1):
        sheet.write_row(count, 0, cells)
    book.close()
    return count


def _gpkg(out: Path, kind: Sheet, columns: list[str], rows: Iterator[tuple[Any, list[Any]]]) -> int:
    import numpy as np
    import pyogrio
    import shapely

    data: dict[str, list[Any]] = {c: [] for c in columns}
    xs: list[float] = []
    ys: list[float] = []
    for row, cells in rows:
        for name, cell in zip(columns, cells, strict=True):
            data[name].append("" if cell is None else str(cell))
        xs.append(row.lon)
        ys.append(row.lat)
    geometry = shapely.to_wkb(shapely.points(np.array(xs), np.array(ys)))
    fields = {name: np.array(values, dtype=object) for name, values in data.items()}
    pyogrio.raw.write(
        str(out),
        geometry=np.asarray(geometry, dtype=object),
        field_data=list(fields.values()),
        fields=list(fields),
        geometry_type="Point",
        crs="EPSG:4326",
        driver="GPKG",
        layer=kind.value,
    )
    return len(xs)


def count_in(db: Session, kind: LedgerKind) -> int:
    from sqlalchemy import func

    model = MODELS[kind]
    return db.scalar(select(func.count(model.id)).where(model.retired_at.is_(None))) or 0
