"""Reads of the rollups: the daily rows (figure_counts) and, for whole months of a township or
above or of a department, the month rows (figure_month_counts)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from civgrid.figures.models import FigureBuild, FigureCount, FigureMonthCount
from civgrid.figures.units import Counts, Rows, add_counts


def built_until(db: Session) -> date | None:
    """Rollups hold every fact dated before this local day (None: never built)."""
    return db.scalar(select(FigureBuild.built_until).order_by(FigureBuild.id.desc()).limit(1))


def rollup_counts(db: Session, rows: Rows, first: date, last: date) -> Counts:
    """Counts from the rollups of the local days first..last: whole months from the month
    rows where they hold the units, the other days from the daily rows."""
    counts: Counts = defaultdict(Counter)
    months, days = split_months(first, last) if rows.monthly else (None, [(first, last)])
    if months is not None:
        m = FigureMonthCount
        key, where = rows.match(m.township_code, m.department_code)
        q = select(key, m.part, func.sum(m.n)).where(
            where, m.month >= months[0], m.month <= months[1]
        )
        add_counts(counts, _grouped(db, q.group_by(key, m.part)))
    if days:
        d = FigureCount
        key, where = rows.match(d.territory_code, d.department_code, d.worker_id)
        spans = or_(*(and_(d.day >= a, d.day <= b) for a, b in days))
        q = select(key, d.part, func.sum(d.n)).where(where, spans).group_by(key, d.part)
        add_counts(counts, _grouped(db, q))
    return counts


def _grouped(db: Session, q: Select[Any]) -> Counts:
    counts: Counts = defaultdict(Counter)
    for code, part, n in db.execute(q):
        counts[code][part] += int(n)
    return counts


def split_months(
    first: date, last: date
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The whole months in first..last (the first days of the first and the last of them, or
    None) and the days outside them, as inclusive ranges."""
    start = first if first.day == 1 else _next_month(first)
    after = _next_month(last)
    end = after if last == after - timedelta(days=1) else last.replace(day=1)
    if start >= end:
        return None, [(first, last)]
    days = []
    if first < start:
        days.append((first, start - timedelta(days=1)))
    if end <= last:
        days.append((end, last))
    return (start, _previous_month(end)), days


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
