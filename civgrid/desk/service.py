"""Page queries for the staff desk: queues and lists, sorted by deadline, one query per list.

Every list goes through ``civgrid.cases.service.scoped`` (the one scope helper), joins the
category in the same statement and computes the deadline light from the columns the workflow
engine keeps on the case, so a page costs a fixed number of statements however long its lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.calendar.service import get_calendar
from civgrid.calendar.units import Light
from civgrid.cases.models import Case, CaseAttachment, CaseEvent, CaseSummons, Priority
from civgrid.cases.service import scoped
from civgrid.cases.transitions import OPEN, WORKING, CaseState
from civgrid.catalogue.models import Category
from civgrid.db.base import utcnow
from civgrid.departments.models import Department
from civgrid.grids.models import Grid

S = CaseState
COMMAND_ROLES = frozenset({Role.DISPATCHER, Role.DUTY_CHIEF, Role.ADMIN})
HANDLER_ROLES = frozenset({Role.DEPT_HANDLER})
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.SUPERVISOR})
LEADER_ROLES = frozenset({Role.GRID_LEADER})
STAFF_ROLES = scope.STAFF

# Where each role lands after logging in (角色首页).
LANDING: dict[Role, str] = {
    Role.ADMIN: "/desk/command",
    Role.DUTY_CHIEF: "/desk/command",
    Role.DISPATCHER: "/desk/command",
    Role.DEPT_HANDLER: "/desk/queue",
    Role.GRID_LEADER: "/desk/leader",
    Role.GRID_WORKER: "/field",
    Role.SUPERVISOR: "/field",
}

LIST_LIMIT = 200


@dataclass(frozen=True)
class Row:
    """One case in a list: its category, the light of its running stage clock, its grid's name
    and its first photo (the list shows that photo's thumbnail)."""

    case: Case
    category: Category
    light: Light | None
    grid_name: str | None = None
    photo_id: int | None = None

    @property
    def overdue(self) -> bool:
        return self.light == Light.RED


def landing_for(user: User) -> str | None:
    """The page a staff user starts on; None for roles without a desk page (residents)."""
    return LANDING.get(user.role)


def _rows(db: Session, user: User, query: Select[Any], now: datetime | None = None) -> list[Row]:
    """Run a scoped (Case, Category) query and attach lights; one statement plus the calendar."""
    now = now or utcnow()
    rows = db.execute(query.limit(LIST_LIMIT)).all()
    if not rows:
        return []
    cal = get_calendar(db)
    out = []
    for case, category, grid, photo in rows:
        light = None
        if case.due_at and case.stage_started_at and case.due_unit and case.state in OPEN:
            if case.state != S.SUSPENDED:
                light = cal.light(case.stage_started_at, case.due_at, now, case.due_unit)
        out.append(Row(case, category, light, grid, photo))
    return out


def _base(user: User) -> Select[Any]:
    """Cases the user may see, with the category, the grid's name and the first photo's id, in
    one statement (the grid by an outer join on its unique code, the photo by a subquery)."""
    first_photo = (
        select(func.min(CaseAttachment.id))
        .where(CaseAttachment.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    query = (
        select(Case, Category, Grid.name, first_photo)
        .join(Category, Category.id == Case.category_id)
        .outerjoin(Grid, (Grid.code == Case.grid_code) & Grid.valid_to.is_(None))
    )
    return scoped(query, user, "view")


def _by_deadline(query: Select[Any]) -> Select[Any]:
    # Emergencies first; then cases without a running clock sort last; then oldest report first.
    return query.order_by(
        Case.priority != Priority.EMERGENCY,
        Case.due_at.is_(None),
        Case.due_at,
        Case.reported_at,
        Case.id,
    )


def cases_in(db: Session, user: User, states: Iterable[CaseState]) -> list[Row]:
    """Cases in the user's jurisdiction in one of ``states``, most urgent deadline first."""
    query = _base(user).where(Case.state.in_(list(states)))
    return _rows(db, user, _by_deadline(query))


def overdue(db: Session, user: User, now: datetime | None = None) -> list[Row]:
    """Open cases whose running stage is past its deadline (超期)."""
    now = now or utcnow()
    active = [s for s in OPEN if s != S.SUSPENDED]
    query = _base(user).where(Case.state.in_(active), Case.due_at < now)
    return _rows(db, user, _by_deadline(query), now)


def pending_extensions(db: Session, user: User) -> list[Row]:
    """Cases with an extension request waiting for approval (延期审批)."""
    query = _base(user).where(Case.state.in_(list(WORKING)), Case.extension_amount.is_not(None))
    return _rows(db, user, _by_deadline(query))


def department_queue(db: Session, user: User) -> list[Row]:
    """A handler's queue: cases dispatched to their departments, or summoned, by deadline."""
    j = scope.Jurisdiction.of(user)
    summoned = select(CaseSummons.case_id).where(CaseSummons.department_code.in_(j.departments))
    query = _base(user).where(
        Case.state.in_(list(WORKING)),
        Case.department_code.in_(j.departments) | Case.id.in_(summoned),
    )
    return _rows(db, user, _by_deadline(query))


def open_cases(db: Session, user: User) -> list[Row]:
    """Open cases in the user's territory, by deadline (the grid's open cases)."""
    return cases_in(db, user, OPEN)


@dataclass(frozen=True)
class CommandCenter:
    incoming: list[Row]
    to_dispatch: list[Row]
    extensions: list[Row]
    suspended: list[Row]
    to_close: list[Row]
    overdue: list[Row]
    in_progress: list[Row]

    @property
    def emergencies(self) -> int:
        """Open emergencies on the board (each case once)."""
        rows = (self.incoming, self.to_dispatch, self.to_close, self.suspended, self.in_progress)
        return len({r.case.id for q in rows for r in q if r.case.priority == Priority.EMERGENCY})


def command_center(db: Session, user: User) -> CommandCenter:
    """The dispatcher's and duty chief's queues (指挥中心)."""
    return CommandCenter(
        incoming=cases_in(db, user, [S.REPORTED]),
        to_dispatch=cases_in(db, user, [S.REGISTERED, S.RETURNED]),
        extensions=pending_extensions(db, user),
        suspended=cases_in(db, user, [S.SUSPENDED]),
        to_close=cases_in(db, user, [S.VERIFIED]),
        overdue=overdue(db, user),
        in_progress=cases_in(db, user, [*WORKING, S.HANDLED]),
    )


def actor_names(db: Session, events: Iterable[CaseEvent]) -> dict[int, str]:
    """Display names of the people in a timeline, by user id (one statement)."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


def categories_by_id(db: Session, ids: Iterable[int]) -> dict[int, Category]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {c.id: c for c in db.scalars(select(Category).where(Category.id.in_(wanted)))}


def attachments_of(db: Session, case: Case) -> Sequence[CaseAttachment]:
    query = select(CaseAttachment).where(CaseAttachment.case_id == case.id)
    return db.scalars(query.order_by(CaseAttachment.id)).all()


def department(db: Session, code: str | None) -> Department | None:
    if not code:
        return None
    return db.scalar(select(Department).where(Department.code == code))


def active_departments(db: Session) -> Sequence[Department]:
    query = select(Department).where(Department.is_active).order_by(Department.code)
    return db.scalars(query).all()


def cases_geojson(db: Session, user: User) -> dict[str, Any]:
    """Open cases as GeoJSON points with their light, for the command-center map."""
    features = []
    for row in open_cases(db, user):
        c = row.case
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": {
                    "number": c.number,
                    "state": c.state.value,
                    "light": row.light.value if row.light else "none",
                    "category": row.category.name_zh,
                    "url": f"/desk/cases/{c.number}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
