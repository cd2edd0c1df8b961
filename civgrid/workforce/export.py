"""XLSX exports of the workforce tables (XlsxWriter)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter

from civgrid.workforce.service import MonthRow

MONTH_HEADERS = (
    "网格编码",
    "网格",
    "村（社区）",
    "网格员",
    "巡查天数",
    "巡查小时",
    "达标天数",
    "每日要求（小时）",
)


def month_xlsx(rows: Sequence[MonthRow], month: str) -> bytes:
    """The monthly patrol table as an XLSX workbook, one row per worker."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet(f"巡查{month}")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, MONTH_HEADERS, bold)
    for i, r in enumerate(rows, start=1):
        sheet.write_row(
            i,
            0,
            (
                r.grid_code,
                r.grid_name,
                r.village_code,
                r.name,
                r.days,
                r.hours,
                r.days_meeting_rule,
                r.required_hours,
            ),
        )
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 3, 14)
    book.close()
    return out.getvalue()
