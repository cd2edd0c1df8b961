"""Composite scores (综合指标值) for region, department and post evaluation, and their grades.

A score is 100 × the weighted mean of the rates that have data, each turned so that higher is
better (``1 − rate`` for a rate whose good direction is down). Weights are data: change
``WEIGHTS`` (or pass your own) to follow local rules.

Where the defaults come from: the *choice* of rates follows the three evaluations of CJ/T 292
(区域评价: how well an area's problems are found and closed; 部门评价: how a department
handles what it is sent; 岗位评价: the work of the people at each post). The standard's own
weight tables could not be consulted offline, so the numbers are civgrid's defaults, chosen to
weigh closing on time most, as the platforms that quote the standard do; docs/figures.md
says so too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from civgrid.figures.indicators import INDICATORS
from civgrid.figures.service import IndicatorValue

WEIGHTS: dict[str, dict[str, float]] = {
    # 区域评价: a territory (grid, village, township, county …)
    "region": {
        "on_time_closure_rate": 0.30,
        "closure_rate": 0.20,
        "valid_report_rate": 0.10,
        "accurate_registration_rate": 0.10,
        "rework_rate": 0.10,
        "satisfaction_rate": 0.10,
        "grassroots_rate": 0.10,
    },
    # 部门评价: a department
    "department": {
        "on_time_handling_rate": 0.40,
        "rework_rate": 0.20,
        "accurate_dispatch_rate": 0.10,
        "satisfaction_rate": 0.15,
        "summons_on_time_rate": 0.15,
    },
    # 岗位评价: a grid worker or supervisor
    "post": {
        "valid_report_rate": 0.40,
        "on_time_verification_rate": 0.40,
        "on_time_registration_rate": 0.20,
    },
}
WEIGHT_SOURCE = "civgrid defaults after the structure of CJ/T 292 (see module docstring)"

GRADES: tuple[tuple[float, str], ...] = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "E"))


@dataclass(frozen=True)
class Score:
    value: float | None  # None: none of the weighted rates has data
    grade: str | None


def evaluation_for(unit_kind: str) -> str:
    if unit_kind == "department":
        return "department"
    if unit_kind == "worker":
        return "post"
    return "region"


def grade(score: float) -> str:
    """A (90–100), B (75–90), C (60–75), D (40–60), E (< 40)."""
    return next(letter for floor, letter in GRADES if score >= floor)


def score(values: Mapping[str, IndicatorValue], weights: Mapping[str, float]) -> Score:
    """The weighted score of the rates with data, and its grade."""
    total = weight = 0.0
    for code, w in weights.items():
        v = values.get(code)
        if v is None or v.value is None:
            continue
        rate = min(max(v.value, 0.0), 1.0)
        total += w * (1 - rate if INDICATORS[code].good == "down" else rate)
        weight += w
    if not weight:
        return Score(None, None)
    value = round(100 * total / weight, 1)
    return Score(value, grade(value))
