"""The snapshot indicators: open cases by light colour at a period's end, from the stage
clocks running then."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session

from civgrid.calendar.service import get_calendar
from civgrid.calendar.units import Light, TimeUnit
from civgrid.cases.models import Case, CaseClock, light_rule
from civgrid.figures.periods import Period, tz
from civgrid.figures.units import Counts, Rows, Unit, add_counts


def snapshot_counts(db: Session, units: Sequence[Unit], period: Period, *, now: datetime) -> Counts:
    """Open cases by light at the period's end (or now, for a period not over), by unit.

    A stage clock running at that instant is red past its deadline, yellow from the instant
    80 % of its limit is used (``yellow_at``), green before: the desk's definition
    (civgrid.desk.service.light_of), in SQL. Clocks finished before migration 0023 have no
    ``yellow_at``: the calendar gives it for the few that are neither red nor green by then.
    """
    rows = Rows.of(units)
    counts: Counts = defaultdict(Counter)
    if rows.kind == "worker":
        return counts
    _, end = period.bounds(tz())
    at = min(end, now)
    key, where = rows.match(Case.territory_code, Case.department_code)
    c = CaseClock
    light = case(
        *light_rule(c.due_at, c.yellow_at, at),
        (c.yellow_at.is_not(None), literal(Light.GREEN.value)),
        else_=null(),
    )
    running = (
        select(key.label("code"), light.label("light"), c.id.label("clock_id"))
        .join(Case, Case.id == c.case_id)
        .where(_running_at(db, at), where)
    )
    lights = running.subquery()
    q = select(lights.c.code, lights.c.light, func.count()).group_by(lights.c.code, lights.c.light)
    unknown = 0
    for code, colour, n in db.execute(q):
        if colour is None:
            unknown += n
            continue
        counts[code]["open"] += n
        counts[code][f"open_{colour}"] += n
    if unknown:
        add_counts(counts, _lights_from_calendar(db, lights, at))
    return counts


def _running_at(db: Session, at: datetime) -> ColumnElement[bool]:
    """Stage clocks started before ``at`` and not finished by then.

    On PostgreSQL as a time range containing the instant, which the GiST index
    ``ix_case_clocks_running`` (migration 0024) answers without reading every clock.
    """
    c = CaseClock
    if db.get_bind().dialect.name == "postgresql":
        span = func.tstzrange(c.started_at, c.finished_at, literal_column("'()'"))
        return span.op("@>")(literal(at, type_=c.started_at.type))
    return and_(c.started_at < at, or_(c.finished_at.is_(None), c.finished_at > at))


def _lights_from_calendar(db: Session, lights: Subquery, at: datetime) -> Counts:
    """The lights of running clocks without ``yellow_at``, from the working calendar."""
    calendar = get_calendar(db)
    c = CaseClock
    q = select(lights.c.code, c.started_at, c.due_at, c.unit).join(c, c.id == lights.c.clock_id)
    counts: Counts = defaultdict(Counter)
    for code, started_at, due_at, unit in db.execute(q.where(lights.c.light.is_(None))):
        yellow = calendar.turns_yellow(started_at, due_at, TimeUnit(unit))
        colour = Light.RED if due_at < at else Light.YELLOW if yellow <= at else Light.GREEN
        counts[code]["open"] += 1
        counts[code][f"open_{colour.value}"] += 1
    return counts
