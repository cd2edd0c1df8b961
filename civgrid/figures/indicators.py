"""The one table of indicators (指标): code, names, formula, the good direction, the source.

Every formula is made of *parts*, each a count of facts (``civgrid.figures.facts``) dated in the
period: an event of the case log, or a stage clock's deadline. A rate is ``numerator /
denominator``; a numerator may subtract parts ("registered − voided"). ``snapshot`` indicators
are read from the clocks at the period's end, ``quantile`` ones from the time-to-close facts.

Inspections (检查) are counted the same way, from the facts of each inspection record.

To add an indicator (mediation …): add its parts to ``PARTS`` and to the facts,
and one ``Indicator`` row here; the dashboard, reports, docs and tests read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every counted part, in the order the facts are documented in docs/figures.md.
PARTS: tuple[str, ...] = (
    "reported",
    "valid",
    "registered",
    "registered_on_time",
    "voided",
    "dispatched",
    "dispatched_on_time",
    "should_handle",
    "handled_on_time",
    "reworked",
    "should_verify",
    "verified_on_time",
    "should_close",
    "closed",
    "closed_on_time",
    "closed_low",
    "overdue",
    "rated",
    "satisfied",
    "summoned",
    "summons_on_time",
    "inspected",
    "inspection_failed",
    "inspection_cases",
)
# Time to close, in whole working hours (rounded up), is counted per hour: "close_h<hours>".
CLOSE_HOURS_PREFIX = "close_h"
SNAPSHOT_PARTS: tuple[str, ...] = ("open", "open_green", "open_yellow", "open_red")


@dataclass(frozen=True)
class Indicator:
    """One indicator: how it is computed and read."""

    code: str
    name_zh: str
    name_en: str
    numerator: tuple[str, ...]  # parts added; a part written "-part" is subtracted
    denominator: str | None  # None: a count
    good: str  # "up" (more is better) or "down"
    source: str
    kind: str = "events"  # "events" | "snapshot" | "quantile"
    quantile: float | None = None

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


CJT = "CJ/T 292"
SPEC = "SPEC §7"
CIVGRID = "civgrid"
INSPECTION = "SPEC §4"

_ROWS = (
    Indicator("reports", "上报数", "Reports", ("reported",), None, "up", CJT),
    Indicator("valid_reports", "有效上报数", "Valid reports", ("valid",), None, "up", CJT),
    Indicator(
        "valid_report_rate", "有效上报率", "Valid report rate", ("valid",), "reported", "up", SPEC
    ),
    Indicator("registered", "立案数", "Registered", ("registered",), None, "up", CJT),
    Indicator(
        "on_time_registration_rate",
        "按时立案率",
        "On-time registration rate",
        ("registered_on_time",),
        "registered",
        "up",
        CJT,
    ),
    Indicator(
        "accurate_registration_rate",
        "准确立案率",
        "Accurate registration rate",
        ("registered", "-voided"),
        "registered",
        "up",
        SPEC,
    ),
    Indicator("dispatched", "派遣数", "Dispatched", ("dispatched",), None, "up", CJT),
    Indicator(
        "on_time_dispatch_rate",
        "按时派遣率",
        "On-time dispatch rate",
        ("dispatched_on_time",),
        "dispatched",
        "up",
        SPEC,
    ),
    Indicator(
        "accurate_dispatch_rate",
        "准确派遣率",
        "Accurate dispatch rate",
        ("dispatched", "-reworked"),
        "dispatched",
        "up",
        SPEC,
    ),
    Indicator("should_handle", "应处置数", "Due for handling", ("should_handle",), None, "up", CJT),
    Indicator(
        "on_time_handling_rate",
        "按时处置率",
        "On-time handling rate",
        ("handled_on_time",),
        "should_handle",
        "up",
        CJT,
    ),
    Indicator("rework_rate", "返工率", "Rework rate", ("reworked",), "should_handle", "down", SPEC),
    Indicator(
        "should_verify", "应核查数", "Due for verification", ("should_verify",), None, "up", CJT
    ),
    Indicator(
        "on_time_verification_rate",
        "按时核查率",
        "On-time verification rate",
        ("verified_on_time",),
        "should_verify",
        "up",
        SPEC,
    ),
    Indicator("should_close", "应结案数", "Due for closing", ("should_close",), None, "up", CJT),
    Indicator("closed", "结案数", "Closed", ("closed",), None, "up", CJT),
    Indicator("closure_rate", "结案率", "Closure rate", ("closed",), "should_close", "up", SPEC),
    Indicator(
        "on_time_closure_rate",
        "按期结案率",
        "On-time closure rate",
        ("closed_on_time",),
        "should_close",
        "up",
        SPEC,
    ),
    Indicator("overdue", "超期数", "Overdue", ("overdue",), None, "down", CJT),
    Indicator(
        "open_red_share",
        "红灯案件占比",
        "Open cases at red",
        ("open_red",),
        "open",
        "down",
        CIVGRID,
        kind="snapshot",
    ),
    Indicator(
        "open_yellow_share",
        "黄灯案件占比",
        "Open cases at yellow",
        ("open_yellow",),
        "open",
        "down",
        CIVGRID,
        kind="snapshot",
    ),
    Indicator(
        "open_green_share",
        "绿灯案件占比",
        "Open cases at green",
        ("open_green",),
        "open",
        "up",
        CIVGRID,
        kind="snapshot",
    ),
    Indicator("ratings", "评价数", "Ratings", ("rated",), None, "up", SPEC),
    Indicator(
        "satisfaction_rate", "满意率", "Satisfaction rate", ("satisfied",), "rated", "up", SPEC
    ),
    Indicator(
        "close_hours_median",
        "结案用时中位数（工作小时）",
        "Median time to close (working hours)",
        (),
        None,
        "down",
        SPEC,
        kind="quantile",
        quantile=0.5,
    ),
    Indicator(
        "close_hours_p90",
        "结案用时90分位（工作小时）",
        "90th percentile time to close (working hours)",
        (),
        None,
        "down",
        CIVGRID,
        kind="quantile",
        quantile=0.9,
    ),
    Indicator(
        "grassroots_rate",
        "基层化解率",
        "Resolved at grid or village level",
        ("closed_low",),
        "closed",
        "up",
        CIVGRID,
    ),
    Indicator("summoned", "吹哨数", "Summons", ("summoned",), None, "up", CIVGRID),
    Indicator(
        "summons_on_time_rate",
        "按时报到率",
        "Summons acknowledged on time",
        ("summons_on_time",),
        "summoned",
        "up",
        CIVGRID,
    ),
    # Inspections: an extra group, weighted by no composite score by default (scores.WEIGHTS).
    Indicator("inspections", "检查数", "Inspections", ("inspected",), None, "up", INSPECTION),
    Indicator(
        "failed_inspections",
        "检查不合格数",
        "Failed inspections",
        ("inspection_failed",),
        None,
        "down",
        INSPECTION,
    ),
    Indicator(
        "inspection_failure_rate",
        "检查不合格率",
        "Inspection failure rate",
        ("inspection_failed",),
        "inspected",
        "down",
        INSPECTION,
    ),
    Indicator(
        "inspection_cases",
        "检查转案件数",
        "Cases opened by inspections",
        ("inspection_cases",),
        None,
        "down",
        INSPECTION,
    ),
)
INSPECTION_CODES: tuple[str, ...] = (
    "inspections",
    "failed_inspections",
    "inspection_failure_rate",
    "inspection_cases",
)

INDICATORS: dict[str, Indicator] = {row.code: row for row in _ROWS}


def parts_of(indicator: Indicator) -> list[str]:
    """The parts an indicator reads (signs removed)."""
    named = [p.lstrip("-") for p in indicator.numerator]
    return named + ([indicator.denominator] if indicator.denominator else [])
