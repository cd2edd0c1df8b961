"""Figures pages and API: /figures (dashboard), /figures/wall, reports, kept reports, exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.db.base import utcnow
from civgrid.db.session import get_read_page_db
from civgrid.errors import CivgridError
from civgrid.figures import dashboard, exports, kept
from civgrid.figures import report as reports
from civgrid.figures.indicators import INDICATORS
from civgrid.figures.periods import Period, current, tz
from civgrid.figures.service import compute
from civgrid.figures.units import BadRequest, check_codes
from civgrid.web.i18n import request_locale
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/figures", tags=["figures"], responses=AUTHENTICATED)

# Every route here only reads: from the read replica when there is one (rollups and kept
# reports are written by the CLI, civgrid.figures.cli).
DB = Annotated[Session, Depends(get_read_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]
FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _period(text: str | None) -> Period:
    if not text:
        return current("month", utcnow().astimezone(tz()).date())
    return Period.parse(text)


def _indicator(code: str | None) -> str:
    code = code or "on_time_closure_rate"
    check_codes([code])
    return code


def _page(request: Request, make: Callable[[], Response]) -> Response:
    """Run a page; a domain error is rendered while the session still holds the user."""
    try:
        return make()
    except CivgridError as exc:
        return render(request, "web/error.html", {"error": exc}, status_code=exc.status_code)


def _figures(
    request: Request, db: Session, user: User, unit: str | None, code: str | None, **kw
) -> reports.Figures:  # type: ignore[no-untyped-def]
    scope_unit = (unit, code) if unit and code else dashboard.default_unit(db, user)
    checked = dashboard.authorize(db, user, *scope_unit)
    return reports.build(db, checked, locale=request_locale(request), **kw)


@pages.get("/figures")
def figures_page(
    request: Request,
    user: Staff,
    db: DB,
    unit: str | None = None,
    code: str | None = None,
    period: str | None = None,
    indicator: str | None = None,
    category: int | None = None,
    trend: str = "month",
) -> Response:
    """指挥大屏 for the desk: KPIs, map, heat map, lists, ranking and trends, with tables."""
    return _page(
        request,
        lambda: _dashboard(request, user, db, unit, code, period, indicator, category, trend),
    )


def _dashboard(  # type: ignore[no-untyped-def]
    request: Request, user: User, db: Session, unit, code, period, indicator, category, trend
) -> Response:
    if trend not in ("week", "month"):
        raise BadRequest("trend is week or month", valid=["week", "month"])
    f = _figures(
        request,
        db,
        user,
        unit,
        code,
        period=_period(period),
        indicator=_indicator(indicator),
        category_id=category,
        trend_kind=trend,
    )
    ctx = {
        "f": f,
        "nav": "figures",
        "shown": reports.shown,
        "indicators": INDICATORS,
        "categories": dashboard.categories(db, request_locale(request)),
        "trend_kind": trend,
    }
    return render(request, "figures/page.html", ctx)


@pages.get("/figures/wall")
def wall(
    request: Request,
    user: Staff,
    db: DB,
    unit: str | None = None,
    code: str | None = None,
    period: str | None = None,
    indicator: str | None = None,
) -> Response:
    """The wall screen (大屏): dark, 1920×1080, no scrolling, refreshed every minute."""

    def make() -> Response:
        f = _figures(
            request,
            db,
            user,
            unit,
            code,
            period=_period(period),
            indicator=_indicator(indicator),
        )
        return render(request, "figures/wall.html", {"f": f, "shown": reports.shown})

    return _page(request, make)


@pages.get("/figures/report")
def report(
    request: Request,
    user: Staff,
    db: DB,
    period: str,
    unit: str | None = None,
    code: str | None = None,
    format: str = "html",
) -> Response:
    """A report of the user's jurisdiction (or a unit in it) for a week, month or quarter."""
    return _page(request, lambda: _report(request, user, db, period, unit, code, format))


def _report(  # type: ignore[no-untyped-def]
    request: Request, user: User, db: Session, period, unit, code, format
) -> Response:
    if format not in FORMATS:
        raise BadRequest(f"unknown format {format!r}; valid: html, pdf, xlsx", valid=list(FORMATS))
    f = _figures(request, db, user, unit, code, period=Period.parse(period))
    body = reports.render(f, format)
    name = f"civgrid-{f.unit.code}-{f.period.label}.{format}"
    disposition = "inline" if format == "html" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
    return Response(body, media_type=FORMATS[format], headers=headers)


@pages.get("/figures/reports")
def kept_reports(request: Request, user: Staff, db: DB) -> Response:
    """Reports kept as they were sent (weekly, monthly, quarterly)."""

    def make() -> Response:
        rows = kept.listed(db, user)
        return render(request, "figures/kept.html", {"rows": rows, "nav": "figures"})

    return _page(request, make)


@pages.get("/figures/reports/{report_id}")
def kept_report(request: Request, user: Staff, db: DB, report_id: int) -> Response:
    return _page(request, lambda: _kept(user, db, report_id))


def _kept(user: User, db: Session, report_id: int) -> Response:
    row = kept.get_for(db, user, report_id)
    name = f"civgrid-{row.division_code}-{row.period}.{row.format}"
    disposition = "inline" if row.format == "html" else "attachment"
    return Response(
        row.content,
        media_type=FORMATS[row.format],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


@pages.get("/figures/cases.{fmt}")
def case_export(request: Request, user: Staff, db: DB, fmt: str) -> Response:
    """The desk's case list as CSV or XLSX, without personal data, with the desk's filters."""

    def make() -> Response:
        body, media = exports.export(db, user, fmt, dict(request.query_params))
        disposition = f'attachment; filename="civgrid-cases.{fmt}"'
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    return _page(request, make)


@api.get("")
def indicators_api(
    user: Staff,
    db: DB,
    unit_kind: str,
    unit_code: str,
    period: str,
    codes: Annotated[list[str] | None, Query()] = None,
) -> dict[str, object]:
    """Indicators of one unit and period: numerator, denominator, value (null: no data)."""
    unit = dashboard.authorize(db, user, unit_kind, unit_code)
    p = Period.parse(period)
    values = compute(db, unit_kind=unit.kind, unit_code=unit.code, period=p, codes=codes)
    return {
        "unit_kind": unit.kind,
        "unit_code": unit.code,
        "period": p.label,
        "first_day": p.first.isoformat(),
        "last_day": p.last.isoformat(),
        "indicators": {
            code: {
                "name_zh": INDICATORS[code].name_zh,
                "name_en": INDICATORS[code].name_en,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "value": v.value,
                "has_data": v.has_data,
            }
            for code, v in values.items()
        },
    }
