"""Reading time limits written the way Chinese standards write them: "2紧急工作时", "5工作日"."""

from __future__ import annotations

import re

from civgrid.calendar.units import TimeUnit

UNITS_ZH = {
    "紧急工作时": TimeUnit.EMERGENCY_HOURS,
    "紧急小时": TimeUnit.EMERGENCY_HOURS,
    "工作时": TimeUnit.WORK_HOURS,
    "工作小时": TimeUnit.WORK_HOURS,
    "工作日": TimeUnit.WORK_DAYS,
    "自然日": TimeUnit.NATURAL_DAYS,
    "天": TimeUnit.NATURAL_DAYS,
}
# A limit may carry a qualifier before the number ("种植季节15工作日": 15 working days in the
# planting season); the qualifier is for people and does not change the arithmetic.
_PATTERN = re.compile(
    r"^\s*(?:[^\d\s-][^\d-]*?)?(\d+(?:\.\d+)?)\s*(" + "|".join(UNITS_ZH) + r")\s*$"
)


def parse_time_limit(text: str) -> tuple[float, TimeUnit]:
    """``"2紧急工作时"`` → ``(2.0, TimeUnit.EMERGENCY_HOURS)``; ValueError naming the text."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"time limit {text!r} is not a number followed by one of: {', '.join(UNITS_ZH)}"
        )
    return float(match.group(1)), UNITS_ZH[match.group(2)]
