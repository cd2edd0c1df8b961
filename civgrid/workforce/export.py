"""XLSX exports of the workforce tables (XlsxWriter)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter

from civgrid.workforce.models import Appraisal
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


APPRAISAL_HEADERS = ("排名", "网格员", "网格", "总分", "等级", "备注")


def appraisal_xlsx(
    rows: Sequence[Appraisal], names: dict[int, str], units: Sequence[dict[str, Any]], quarter: str
) -> bytes:
    """The quarter's appraisal: workers ranked, then grid and department scores."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(f"网格员{quarter}")
    sheet.write_row(0, 0, APPRAISAL_HEADERS, bold)
    for i, a in enumerate(sorted(rows, key=lambda a: a.rank), start=1):
        sheet.write_row(
            i, 0, (a.rank, names.get(a.user_id, ""), a.territory_code, a.total, a.grade, a.comment)
        )
    units_sheet = book.add_worksheet("网格与部门")
    units_sheet.write_row(0, 0, ("类型", "编码", "名称", "综合得分", "等级"), bold)
    for i, u in enumerate(units, start=1):
        kind = "网格" if u["kind"] == "grid" else "部门"
        units_sheet.write_row(i, 0, (kind, u["code"], u["name"], u["score"], u["grade"]))
    book.close()
    return out.getvalue()


def appraisal_pdf(
    rows: Sequence[Appraisal],
    names: dict[int, str],
    units: Sequence[dict[str, Any]],
    quarter: str,
    division: str,
) -> bytes:
    """The quarter's appraisal as a printable PDF (WeasyPrint, Chinese)."""
    from civgrid.web.pdf import html_to_pdf
    from civgrid.web.templating import environment

    html = (
        environment()
        .get_template("workforce/appraisal_pdf.html")
        .render(
            locale="zh_CN",
            rows=sorted(rows, key=lambda a: a.rank),
            names=names,
            units=units,
            quarter=quarter,
            division=division,
        )
    )
    return html_to_pdf(html)
