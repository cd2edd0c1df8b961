"""Workforce queries: staffing, the duty roster, patrols and their replay, the monthly table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.cases.models import Case
from civgrid.catalogue.models import Category
from civgrid.config import get_settings
from civgrid.errors import NotFound
from civgrid.grids.models import Grid, GridKind, GridMember
from civgrid.workforce.models import (
    Appraisal,
    DutyShift,
    ExamResult,
    GridMeeting,
    Patrol,
    PatrolDay,
    PatrolState,
    TrainingCourse,
)
from civgrid.workforce.patrols import day_span, fixes, local_day

OFFICE = frozenset({Role.ADMIN, Role.DUTY_CHIEF, Role.SUPERVISOR, Role.GRID_LEADER})

scope.register(
    Patrol,
    # A grid worker sees only their own patrols (see ``patrol_for``); the office its territory's.
    roles={"view": OFFICE | {Role.GRID_WORKER}},
    condition=scope.by_code_prefix(Patrol.territory_code),
)
scope.register(
    PatrolDay,
    roles={"view": OFFICE | {Role.GRID_WORKER}},
    condition=scope.by_code_prefix(PatrolDay.territory_code),
)
scope.register(
    DutyShift,
    roles={"view": scope.STAFF, "change": {Role.ADMIN, Role.DUTY_CHIEF}},
    condition=scope.by_code_prefix(DutyShift.division_code),
)
scope.register(TrainingCourse, roles={"view": scope.STAFF, "change": {Role.ADMIN}})
scope.register(
    GridMeeting,
    roles={"view": scope.STAFF, "change": {Role.ADMIN, Role.GRID_LEADER}},
    condition=scope.by_code_prefix(GridMeeting.grid_code),
)
scope.register(
    Appraisal,
    roles={"view": OFFICE, "change": {Role.ADMIN}},
    condition=scope.by_code_prefix(Appraisal.territory_code),
)


def patrol_for(db: Session, user: User | None, patrol_id: int) -> Patrol:
    """One patrol the user may see: their own, or (the office) one in their territory.

    A grid worker sees only their own (another's answers 404, as if missing).
    """
    own = db.get(Patrol, patrol_id) if user is not None else None
    if own is not None and user is not None and own.user_id == user.id:
        return own
    patrol = scope.get_for(db, user, Patrol, patrol_id)
    if user is not None and user.role == Role.GRID_WORKER:
        raise NotFound(f"patrol {patrol_id} not found")
    return patrol


def open_patrol(db: Session, user: User) -> Patrol | None:
    return db.scalar(
        select(Patrol).where(Patrol.user_id == user.id, Patrol.state == PatrolState.OPEN)
    )


def patrols(
    db: Session, user: User, *, day: date | None = None, worker_id: int | None = None
) -> Sequence[Patrol]:
    """Patrols the user may see, newest first; a grid worker sees only their own."""
    query = select(Patrol).order_by(Patrol.started_at.desc())
    if user.role == Role.GRID_WORKER or worker_id == user.id:
        scope.check_role(user, Patrol, "view")
        worker_id = user.id
    else:
        query = scope.restrict(query, user, "view")
    if worker_id is not None:
        query = query.where(Patrol.user_id == worker_id)
    if day is not None:
        start, end = day_span(day)
        query = query.where(Patrol.started_at >= start, Patrol.started_at < end)
    return db.scalars(query.limit(200)).all()


def names(db: Session, user_ids: set[int]) -> dict[int, str]:
    """Display names of these users, by id."""
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {r.id: r.display_name for r in rows}


def replay(db: Session, patrol: Patrol) -> dict[str, Any]:
    """What the replay page draws: positions with times, stops, and the day's reports."""
    raw = fixes(db, patrol)
    points = [[f.lon, f.lat, f.t] for f in raw] if raw else list(patrol.track or [])
    start, end = day_span(local_day(patrol.started_at))
    reports = db.execute(
        select(Case.number, Case.lon, Case.lat, Case.reported_at, Category.name_zh)
        .join(Category, Category.id == Case.category_id)
        .where(
            Case.reporter_user_id == patrol.user_id,
            Case.reported_at >= start,
            Case.reported_at < end,
        )
        .order_by(Case.reported_at)
    ).all()
    return {
        "id": patrol.id,
        "state": str(patrol.state),
        "started_at": patrol.started_at.isoformat(),
        "ended_at": patrol.ended_at.isoformat() if patrol.ended_at else None,
        "points": points,
        "purged": patrol.purged_at is not None,
        "stops": patrol.stops,
        "distance_m": patrol.distance_m,
        "duration_s": patrol.duration_s,
        "inside_s": patrol.inside_s,
        "grids": patrol.grid_codes,
        "reports": [
            {
                "number": r.number,
                "lon": r.lon,
                "lat": r.lat,
                "category": r.name_zh,
                "t": r.reported_at.timestamp(),
            }
            for r in reports
        ],
    }


def required_hours(kind: GridKind | str) -> float:
    """The daily patrol hours the rule asks of a grid of ``kind`` (setting, default 4)."""
    rules = dict(
        part.split(":", 1) for part in get_settings().patrol_daily_hours.split(",") if ":" in part
    )
    return float(rules.get(str(kind), 4))


@dataclass
class MonthRow:
    grid_code: str
    grid_name: str
    village_code: str
    user_id: int
    name: str
    days: int
    hours: float
    days_meeting_rule: int
    required_hours: float


def month_table(db: Session, user: User, *, month: date, prefix: str = "") -> list[MonthRow]:
    """Per worker and grid: days patrolled, hours, days meeting the daily rule, for a month."""
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    # Plain (worker, seconds) rows, not ORM objects: a county's month is tens of thousands.
    query = scope.restrict(
        select(PatrolDay.user_id, PatrolDay.seconds).where(  # type: ignore[arg-type]
            PatrolDay.day >= first, PatrolDay.day < nxt
        ),
        user,
        "view",
    )
    if prefix:
        query = query.where(PatrolDay.territory_code.startswith(prefix, autoescape=True))
    if user.role == Role.GRID_WORKER:
        query = query.where(PatrolDay.user_id == user.id)
    by_user: dict[int, list[float]] = defaultdict(list)
    for uid, seconds in db.execute(query):
        by_user[uid].append(seconds)
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(by_user))).all())
    grid_of = _first_grid(db, list(by_user))
    rows = []
    for uid, seconds in by_user.items():
        grid = grid_of.get(uid)
        need = required_hours(grid.kind if grid else GridKind.COMPREHENSIVE)
        rows.append(
            MonthRow(
                grid_code=grid.code if grid else "",
                grid_name=grid.name if grid else "",
                village_code=grid.village_code if grid else "",
                user_id=uid,
                name=names[uid],
                days=len(seconds),
                hours=round(sum(seconds) / 3600, 2),
                days_meeting_rule=sum(s >= need * 3600 for s in seconds),
                required_hours=need,
            )
        )
    return sorted(rows, key=lambda r: (r.village_code, r.grid_code, r.name))


def _first_grid(db: Session, user_ids: list[int]) -> dict[int, Grid]:
    """Each worker's first grid by code (the one the monthly table files them under)."""
    current = Grid.valid_to.is_(None)
    served = select(GridMember.user_id, Grid).join(Grid, Grid.id == GridMember.grid_id)
    served = served.where(current, GridMember.user_id.in_(user_ids))
    led = select(Grid.leader_id, Grid).where(current, Grid.leader_id.in_(user_ids))
    out: dict[int, Grid] = {}
    for uid, grid in sorted([*db.execute(served), *db.execute(led)], key=lambda r: r[1].code):
        out.setdefault(uid, grid)
    return out


def on_duty(db: Session, user: User, *, at: datetime) -> list[tuple[DutyShift, User]]:
    """Who is on duty at ``at`` in the user's territory (值班表)."""
    query = scope.restrict(
        select(DutyShift).where(DutyShift.starts_at <= at, DutyShift.ends_at > at), user, "view"
    )
    shifts = db.scalars(query.order_by(DutyShift.starts_at)).all()
    users = {
        u.id: u for u in db.scalars(select(User).where(User.id.in_([s.user_id for s in shifts])))
    }
    return [(s, users[s.user_id]) for s in shifts]


def expiring_certificates(db: Session, *, today: date, days: int = 31) -> Sequence[Any]:
    """Passed exams whose certificate expires within ``days`` (listed a month ahead)."""
    return db.execute(
        select(ExamResult, User.display_name, TrainingCourse.name)
        .join(User, User.id == ExamResult.user_id)
        .join(TrainingCourse, TrainingCourse.id == ExamResult.course_id)
        .where(
            ExamResult.passed,
            ExamResult.expires_on >= today,
            ExamResult.expires_on <= today + timedelta(days=days),
        )
        .order_by(ExamResult.expires_on)
    ).all()
