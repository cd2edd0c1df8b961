"""Case export (CSV, XLSX) with the desk's filters and scope, without personal data.

Left out on purpose: the description and outcome (free text may name people), the reporter's
user, phone and e-mail. What stays is what the public board and the figures use.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases.models import Case
from civgrid.cases.service import scoped
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category
from civgrid.figures.periods import day_start, tz
from civgrid.figures.units import BadRequest

MAX_ROWS = 200_000
COLUMNS = (
    "number",
    "state",
    "category_code",
    "category",
    "source",
    "level",
    "priority",
    "territory_code",
    "grid_code",
    "department_code",
    "lon",
    "lat",
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "due_at",
    "rating",
)
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _day(params: dict[str, str], key: str) -> date | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{key} must be a date like 2026-11-30, not {text!r}") from None


def rows(db: Session, user: User, params: dict[str, str]) -> list[list[Any]]:
    """The filtered cases the user may see: state, category, territory, reported from/to."""
    q = select(Case, Category).join(Category, Category.id == Case.category_id)
    states = [s for s in (params.get("state") or "").split(",") if s]
    valid = [s.value for s in CaseState]
    bad = [s for s in states if s not in valid]
    if bad:
        raise BadRequest(
            f"unknown state {', '.join(bad)}; valid states: {', '.join(valid)}", valid=valid
        )
    if states:
        q = q.where(Case.state.in_(states))
    if params.get("category"):
        q = q.where(Category.code == params["category"])
    if params.get("territory"):
        q = q.where(Case.territory_code.startswith(params["territory"], autoescape=True))
    first, last = _day(params, "from"), _day(params, "to")
    if first:
        q = q.where(Case.reported_at >= day_start(first, tz()))
    if last:
        q = q.where(Case.reported_at < day_start(date.fromordinal(last.toordinal() + 1), tz()))
    q = scoped(q, user, "view").order_by(Case.reported_at, Case.id).limit(MAX_ROWS)
    zone = tz()

    def when(d):  # type: ignore[no-untyped-def]
        return d.astimezone(zone).strftime("%Y-%m-%d %H:%M") if d else ""

    return [
        [
            c.number,
            c.state.value,
            cat.code,
            cat.name_zh,
            c.source.value,
            c.level.value,
            c.priority.value,
            c.territory_code,
            c.grid_code or "",
            c.department_code or "",
            c.lon,
            c.lat,
            when(c.reported_at),
            when(c.registered_at),
            when(c.dispatched_at),
            when(c.handled_at),
            when(c.closed_at),
            when(c.due_at),
            c.rating if c.rating is not None else "",
        ]
        for c, cat in db.execute(q)
    ]


def export(db: Session, user: User, fmt: str, params: dict[str, str]) -> tuple[bytes, str]:
    """(file, media type) of the export; 400 for an unknown format or filter."""
    if fmt not in MEDIA:
        raise BadRequest(f"unknown format {fmt!r}; valid: csv, xlsx", valid=list(MEDIA))
    data = rows(db, user, params)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(COLUMNS)
        writer.writerows(data)
        return ("\ufeff" + buf.getvalue()).encode(), MEDIA[fmt]  # BOM: Excel reads UTF-8
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet("cases")
    ws.write_row(0, 0, COLUMNS, book.add_format({"bold": True}))
    ws.freeze_panes(1, 0)
    for r, row in enumerate(data, start=1):
        ws.write_row(r, 0, row)
    book.close()
    return out.getvalue(), MEDIA[fmt]
