"""Figures: compute indicators for a unit and a period, from the rollups or the raw events.

``compute`` is the interface other domains use (the quarterly appraisal of workforce)::

    compute(db, unit_kind="township", unit_code="441900101", period=Period.parse("2026-Q4"))

Facts dated before the rollups' ``built_until`` are read from ``figure_counts`` (the whole
months of a township or above, or of a department, from ``figure_month_counts``); later ones
(today, and deadlines still ahead) are derived from the raw events, so a figure is never stale.
``compute_each`` counts several units of one kind (children, departments) in the same
statements as one.

The reads live by concern: units and their rows in ``units``, the rollups in ``rollups``, the
raw log in ``raw``, open cases by light in ``snapshot``; the days of a period in ``periods``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from civgrid.db.base import utcnow
from civgrid.figures.indicators import CLOSE_HOURS_PREFIX, Indicator
from civgrid.figures.periods import Period
from civgrid.figures.raw import raw_counts
from civgrid.figures.rollups import built_until, rollup_counts
from civgrid.figures.snapshot import snapshot_counts
from civgrid.figures.units import Counts, Rows, Unit, add_counts, check_codes, unit_for


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator's figure: the counts it is made of and its value (None: no data)."""

    code: str
    numerator: float
    denominator: int | None
    value: float | None

    @property
    def has_data(self) -> bool:
        return self.value is not None


def compute(
    db: Session,
    *,
    unit_kind: str,
    unit_code: str,
    period: Period,
    codes: Sequence[str] | None = None,
    source: str = "auto",
    now: datetime | None = None,
) -> dict[str, IndicatorValue]:
    """The indicators ``codes`` (all by default) of one unit over one period.

    ``source`` "raw" recomputes everything from the events; "auto" reads the rollups where
    they are built. Scope is the caller's business (``civgrid.figures.routes`` checks it).
    """
    unit = unit_for(db, unit_kind, unit_code)
    return compute_each(db, [unit], period, codes=codes, source=source, now=now)[unit.code]


def compute_each(
    db: Session,
    units: Sequence[Unit],
    period: Period,
    *,
    codes: Sequence[str] | None = None,
    source: str = "auto",
    now: datetime | None = None,
) -> dict[str, dict[str, IndicatorValue]]:
    """``compute`` for several units of one kind (a unit's children, departments to rank), by
    code, counted together: the same statements as for one of them."""
    indicators = check_codes(codes)
    now = now or utcnow()
    units = list(units)
    if not units:
        return {}
    counts = part_counts(db, units, period, source=source, now=now)
    if any(i.kind == "snapshot" for i in indicators):
        for code, snapshot in snapshot_counts(db, units, period, now=now).items():
            counts[code].update(snapshot)
    return {u.code: {i.code: evaluate(i, counts[u.code]) for i in indicators} for u in units}


def evaluate(indicator: Indicator, counts: Counter[str]) -> IndicatorValue:
    """An indicator's value from part counts."""
    if indicator.kind == "quantile":
        hours = close_hours(counts)
        n = sum(hours.values())
        q = indicator.quantile or 0.5
        return IndicatorValue(indicator.code, n, None, nearest_rank(hours, q) if n else None)
    numerator = 0
    for part in indicator.numerator:
        numerator += -counts[part[1:]] if part.startswith("-") else counts[part]
    if indicator.denominator is None:
        return IndicatorValue(indicator.code, numerator, None, float(numerator))
    denominator = counts[indicator.denominator]
    value = numerator / denominator if denominator else None
    return IndicatorValue(indicator.code, numerator, denominator, value)


def close_hours(counts: Counter[str]) -> dict[int, int]:
    return {
        int(part[len(CLOSE_HOURS_PREFIX) :]): n
        for part, n in counts.items()
        if part.startswith(CLOSE_HOURS_PREFIX) and n
    }


def nearest_rank(histogram: dict[int, int], q: float) -> float:
    """The nearest-rank quantile ``q`` of values given as value → count."""
    total = sum(histogram.values())
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    raise ValueError("empty histogram")  # pragma: no cover


def part_counts(
    db: Session, units: Sequence[Unit], period: Period, *, source: str = "auto", now: datetime
) -> Counts:
    """Counts of every part for each unit (by code) over the period: rollups up to their
    build, raw after."""
    counts: Counts = defaultdict(Counter)
    rows = Rows.of(units)
    first, last = period.first, period.last
    until = built_until(db) if source == "auto" else None
    if until is not None and first < until:
        rolled_last = min(last, date.fromordinal(until.toordinal() - 1))
        add_counts(counts, rollup_counts(db, rows, first, rolled_last))
        first = until
    if first <= last:
        add_counts(counts, raw_counts(db, rows, first, last, now=now))
    return counts
