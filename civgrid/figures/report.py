"""The figures of one unit and period, assembled once and shown as the page, the wall, or a
report in HTML, PDF (WeasyPrint) or XLSX (XlsxWriter): the same numbers in every form."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from civgrid.db.base import utcnow
from civgrid.figures import charts, dashboard
from civgrid.figures.indicators import INDICATORS, INSPECTION_CODES, Indicator
from civgrid.figures.periods import Period, tz
from civgrid.figures.scores import WEIGHTS, Score, evaluation_for, score
from civgrid.figures.service import IndicatorValue
from civgrid.figures.units import Unit
from civgrid.web.i18n import gettext
from civgrid.web.templating import PACKAGE_DIR, environment

# Served as a file with the page; inlined into the PDF (WeasyPrint reads no URL).
REPORT_CSS = PACKAGE_DIR / "web" / "static" / "figures" / "report.css"


@dataclass
class Figures:
    unit: Unit
    name: str
    crumbs: list[tuple[str, str, str]]
    period: Period
    indicator: Indicator
    kpis: list[dashboard.Kpi]
    children: list[dashboard.Child]
    ranking: list[dashboard.Ranked]
    trend: list[tuple[str, IndicatorValue]]
    lists: dashboard.Lists
    map_svg: Markup
    heat_svg: Markup
    ranking_svg: Markup
    trend_svg: Markup
    summary: list[str]
    generated_at: datetime
    locale: str
    category_id: int | None = None
    score: Score | None = None  # the unit's composite score (综合指标值)
    inspections: list[dashboard.Kpi] = field(default_factory=list)  # 检查: no score weighs them


def shown(value: IndicatorValue | None, indicator: Indicator | None = None) -> str:
    """A value as people read it: a rate in percent, hours and counts as numbers, or —."""
    if value is None or value.value is None:
        return "—"
    indicator = indicator or INDICATORS[value.code]
    if indicator.is_rate:
        return f"{value.value * 100:.1f}%"
    if indicator.kind == "quantile":
        return f"{value.value:g}"
    return f"{value.value:,.0f}"


def build(
    db: Session,
    unit: Unit,
    period: Period,
    *,
    indicator: str = "on_time_closure_rate",
    category_id: int | None = None,
    trend_kind: str = "month",
    locale: str = "zh_CN",
    now: datetime | None = None,
) -> Figures:
    """Everything the page and the reports show for ``unit`` over ``period``."""
    now = now or utcnow()
    ind = INDICATORS[indicator]
    _ = _translator(locale)
    # one count per period (now, 环比, 同比) for the KPI strip, the inspections and the score
    weights = WEIGHTS[evaluation_for(unit.kind)]
    codes = tuple(dict.fromkeys([*dashboard.KPI_CODES, *INSPECTION_CODES, *weights]))
    strip = {k.code: k for k in dashboard.kpis(db, unit, period, now, codes)}
    kpis = [strip[c] for c in dashboard.KPI_CODES]
    kids = dashboard.children(db, unit, period, indicator, now)
    ranked = dashboard.ranking(db, unit, period, now)
    today = min(now.astimezone(tz()).date(), period.last)
    trend = dashboard.trend(db, unit, trend_kind, indicator, today, now)
    areas = [
        charts.Area(
            c.code,
            c.name,
            c.shape,
            c.value.value,
            shown(c.value, ind),
            f"/figures?unit={c.kind}&code={c.code}&period={period.label}&indicator={indicator}",
        )
        for c in kids
        if c.shape is not None
    ]
    name = ind.name(locale)
    outlines = [c.shape for c in kids if c.shape is not None]
    points = dashboard.case_points(db, unit, period, category_id)
    return Figures(
        unit=unit,
        name=dashboard.unit_name(db, unit),
        crumbs=dashboard.breadcrumbs(db, unit),
        period=period,
        indicator=ind,
        kpis=kpis,
        children=kids,
        ranking=ranked,
        trend=trend,
        lists=dashboard.lists(db, unit, now, locale),
        map_svg=charts.choropleth(areas, title=_("Map: %(name)s", name=name), good=ind.good),
        heat_svg=charts.heatmap(outlines, points, title=_("Where cases were reported")),
        ranking_svg=charts.bar_chart(
            [(r.name, r.score.value, r.score.grade) for r in ranked],
            title=_("Department ranking"),
        ),
        trend_svg=charts.line_chart(
            [(label, v.value) for label, v in trend],
            title=_("Trend: %(name)s", name=name),
            percent=ind.is_rate,
        ),
        summary=summary(kpis, ranked, period, locale),
        generated_at=now,
        locale=locale,
        category_id=category_id,
        score=score({c: strip[c].now for c in weights}, weights),
        inspections=[strip[c] for c in INSPECTION_CODES],
    )


def _translator(locale: str):  # type: ignore[no-untyped-def]
    def _(message: str, **params: Any) -> str:
        text = gettext(locale, message)
        return text % params if params else text

    return _


def summary(
    kpis: list[dashboard.Kpi], ranked: list[dashboard.Ranked], period: Period, locale: str
) -> list[str]:
    """A few sentences in words: volume, closing, overdue, satisfaction, the best department."""
    _ = _translator(locale)
    k = {x.code: x for x in kpis}
    lines = [
        _(
            "In %(period)s, %(reports)s reports came in (%(valid)s valid).",
            period=period.label,
            reports=shown(k["reports"].now),
            valid=shown(k["valid_report_rate"].now),
        )
    ]
    closing = k["on_time_closure_rate"]
    if closing.now.value is None:
        lines.append(_("No case was due for closing: no closing figures."))
    else:
        change = closing.mom
        lines.append(
            _(
                "Closed on time: %(rate)s (%(change)s points on the previous period).",
                rate=shown(closing.now),
                change="—" if change is None else f"{change * 100:+.1f}",
            )
        )
    lines.append(
        _(
            "%(overdue)s deadlines were missed; satisfaction %(satisfaction)s.",
            overdue=shown(k["overdue"].now),
            satisfaction=shown(k["satisfaction_rate"].now),
        )
    )
    best = next((r for r in ranked if r.score.value is not None), None)
    if best is not None:
        # the department's name is data (translate="no"); Markup escapes the other values
        sentence = _("Best department: %(name)s, %(score)s points (grade %(grade)s).")
        lines.append(
            escape(sentence)
            % {
                "name": Markup('<span translate="no">%s</span>') % best.name,
                "score": f"{best.score.value:g}",
                "grade": best.score.grade,
            }
        )
    return lines


def render_html(figures: Figures, *, for_pdf: bool = False) -> str:
    """The standalone report page (also the PDF's source, which has its stylesheet inlined)."""
    ctx = {
        "inline_css": REPORT_CSS.read_text(encoding="utf-8") if for_pdf else "",
        "f": figures,
        "locale": figures.locale,
        "shown": shown,
        "indicators": INDICATORS,
    }
    return environment().get_template("figures/report.html").render(ctx)


def render_pdf(figures: Figures) -> bytes:
    """The report as PDF, Chinese text in Noto CJK."""
    from civgrid.web.pdf import html_to_pdf

    return html_to_pdf(render_html(figures, for_pdf=True))


def render_xlsx(figures: Figures) -> bytes:
    """One sheet per table, numbers as numbers, headers frozen."""
    import xlsxwriter

    _ = _translator(figures.locale)
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    head = book.add_format({"bold": True, "bg_color": "#DDE5EE"})
    pct = book.add_format({"num_format": "0.0%"})

    def sheet(title: str, header: list[str], rows: list[list[Any]], pct_cols=()) -> None:  # type: ignore[no-untyped-def]
        ws = book.add_worksheet(title[:31])
        ws.write_row(0, 0, header, head)
        ws.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                ws.write(r, c, v, pct if c in pct_cols and isinstance(v, float) else None)
        ws.set_column(0, len(header) - 1, 18)

    loc = figures.locale
    sheet(
        _("Indicators"),
        [
            _("Code"),
            _("Indicator"),
            _("Numerator"),
            _("Denominator"),
            _("Value"),
            _("Previous"),
            _("Year before"),
        ],
        [
            [
                k.code,
                INDICATORS[k.code].name(loc),
                k.now.numerator,
                k.now.denominator,
                k.now.value,
                k.previous.value,
                k.year_before.value,
            ]
            for k in [*figures.kpis, *figures.inspections]
        ],
    )
    sheet(
        _("Areas"),
        [_("Code"), _("Name"), figures.indicator.name(loc), _("Numerator"), _("Denominator")],
        [
            [c.code, c.name, c.value.value, c.value.numerator, c.value.denominator]
            for c in figures.children
        ],
    )
    sheet(
        _("Department ranking"),
        [_("Rank"), _("Department"), _("Score"), _("Grade")],
        [[i + 1, r.name, r.score.value, r.score.grade] for i, r in enumerate(figures.ranking)],
    )
    sheet(
        _("Trend"),
        [_("Period"), figures.indicator.name(loc)],
        [[label, v.value] for label, v in figures.trend],
    )
    sheet(
        _("Overdue cases"),
        [_("Case"), _("Category"), _("Territory"), _("Due")],
        [
            [
                r.number,
                r.category,
                r.territory,
                r.due_at.astimezone(tz()).strftime("%Y-%m-%d %H:%M") if r.due_at else "",
            ]
            for r in figures.lists.overdue
        ],
    )
    book.close()
    return buf.getvalue()


def render(figures: Figures, fmt: str) -> bytes:
    """The report in one of html, pdf, xlsx."""
    if fmt == "pdf":
        return render_pdf(figures)
    if fmt == "xlsx":
        return render_xlsx(figures)
    return render_html(figures).encode()
