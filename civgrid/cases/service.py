"""Queries about cases: scope, lookup by number, lists, lights and routing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import log_personal_data_read
from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.calendar.service import get_calendar
from civgrid.calendar.units import Light
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseSummons
from civgrid.cases.transitions import CaseAction, CaseState
from civgrid.catalogue.models import Category
from civgrid.catalogue.service import suggest_department
from civgrid.db import keyset
from civgrid.db.base import utcnow
from civgrid.departments.models import Department
from civgrid.errors import Forbidden, Invalid, NotFound, Unauthorized
from civgrid.grids.service import grid_at

# Any select over Case, joined or not (Select is variadic in SQLAlchemy 2.1).
AnySelect = Select[*tuple[Any, ...]]
DISPATCH_ROLES = {Role.DISPATCHER, Role.DUTY_CHIEF, Role.ADMIN}
HANDLER_ROLES = {Role.DEPT_HANDLER, Role.ADMIN}
FIELD_ROLES = {Role.GRID_WORKER, Role.GRID_LEADER}


def _summoned(j: scope.Jurisdiction) -> ColumnElement[bool]:
    """Cases a department was summoned to (吹哨): its handlers see them too."""
    if not j.departments:
        return false()
    summoned = select(CaseSummons.case_id).where(CaseSummons.department_code.in_(j.departments))
    return Case.id.in_(summoned)


scope.register(
    Case,
    roles={
        "view": scope.STAFF | {Role.RESIDENT},  # residents: only cases they reported
        "report": scope.STAFF - {Role.DEPT_HANDLER} | {Role.RESIDENT},
        "take_call": DISPATCH_ROLES,  # take a report for a caller: hotline, walk-in window
        "dispatch": DISPATCH_ROLES,  # register, reject, dispatch, close, void, merge, reopen …
        "handle": HANDLER_ROLES,  # accept, return, start, handle, request extension
        "verify": FIELD_ROLES | {Role.SUPERVISOR, Role.ADMIN},
        "self_handle": FIELD_ROLES,
        "escalate": FIELD_ROLES | DISPATCH_ROLES,
        "evaluate": {Role.RESIDENT, Role.DISPATCHER, Role.ADMIN},
        "acknowledge": HANDLER_ROLES,
        "attach": scope.STAFF,
    },
    condition=scope.any_of(
        scope.by_code_prefix(Case.territory_code),
        scope.by_department(Case.department_code),
        _summoned,
    ),
    # A summoned department sees the case, reports in (with a note) and adds photos; only
    # the responsible department handles it.
    via={"summons": {"view", "acknowledge", "attach"}},
)


# Complaints about grid staff go to the grid office: the grid's own staff never see them.
COMPLAINT_BLIND = {Role.GRID_WORKER, Role.GRID_LEADER}


def _staff_complaints() -> Select[Any]:
    return select(Category.id).where(Category.is_staff_complaint)


def covers(user: User, case: Case) -> bool:
    """Whether the case lies in the user's jurisdiction (territory or department)."""
    j = scope.Jurisdiction.of(user)
    return j.covers_code(case.territory_code) or (case.department_code or "") in j.departments


def authorize(db: Session, user: User | None, case: Case, action: str) -> None:
    """Role and jurisdiction check for one case (401/403, 404 outside scope as if missing)."""
    scope.check_role(user, Case, action)
    if user is None:
        return
    if user.role == Role.RESIDENT:
        if case.reporter_user_id != user.id:
            raise NotFound(f"case {case.number} not found")
        return
    if user.role in COMPLAINT_BLIND and case.category_id in set(db.scalars(_staff_complaints())):
        raise NotFound(f"case {case.number} not found")
    if covers(user, case):
        return
    j = scope.Jurisdiction.of(user)
    summoned = db.scalar(
        select(CaseSummons.id).where(
            CaseSummons.case_id == case.id, CaseSummons.department_code.in_(j.departments)
        )
    )
    if summoned is None:
        raise NotFound(f"case {case.number} not found")
    scope.check_via(Case, "summons", action, f"case {case.number}")


def scoped(query: AnySelect, user: User | None, action: str = "view") -> AnySelect:
    """``query`` (over Case, possibly joined) limited to what ``user`` may ``action``."""
    if user is not None and user.role == Role.RESIDENT:
        scope.check_role(user, Case, action)
        return query.where(Case.reporter_user_id == user.id)
    if user is not None and user.role in COMPLAINT_BLIND:
        query = query.where(Case.category_id.notin_(_staff_complaints()))
    return cast(AnySelect, scope.restrict(cast("Select[Any]", query), user, action, Case))


def get_case_for(db: Session, user: User | None, number: str, action: str = "view") -> Case:
    """One case by number, or 404 when missing or outside the user's jurisdiction."""
    if user is None:
        raise Unauthorized("login required")
    scope.check_role(user, Case, action)  # a role that may never do this: 403 before lookup
    case = db.scalar(scoped(select(Case).where(Case.number == number), user, "view"))
    if case is None:
        raise NotFound(f"case {number} not found")
    if action != "view":
        authorize(db, user, case, action)
    return case


def get_case(db: Session, number: str) -> Case:
    """One case by number, unscoped (for the portal and Open311, which apply their own rules)."""
    case = db.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound(f"case {number} not found")
    return case


@dataclass(frozen=True)
class CaseFilter:
    state: CaseState | None = None
    open_only: bool = False
    category_id: int | None = None
    department_code: str | None = None
    territory: str | None = None  # a division or grid code prefix
    overdue: bool = False
    since: datetime | None = None


# The API's list, newest first: a keyset over the (reported_at, id) index.
NEWEST_FIRST = keyset.Keyset(
    "api-cases", (keyset.Segment((Case.reported_at, Case.id), descending=True),)
)


def list_cases(
    db: Session, user: User | None, f: CaseFilter, *, limit: int = 100, offset: int = 0
) -> Sequence[Case]:
    """Cases the user may see, newest first, filtered (by offset: old clients)."""
    q = filtered_cases(user, f)
    q = q.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    return db.scalars(q).all()


def cases_page(
    db: Session, user: User | None, f: CaseFilter, *, limit: int = 100, cursor: str | None = None
) -> keyset.Page[Case]:
    """A page of the cases the user may see, newest first, after ``cursor``."""
    page = NEWEST_FIRST.page(db, filtered_cases(user, f), limit, cursor)
    return keyset.Page([row[0] for row in page.rows], page.next, page.previous)


def filtered_cases(user: User | None, f: CaseFilter) -> AnySelect:
    """Cases the user may see, filtered (no order, no limit)."""
    q = scoped(select(Case), user)
    if f.state is not None:
        q = q.where(Case.state == f.state)
    if f.open_only:
        q = q.where(Case.state.in_([s for s in CaseState if s.is_open]))
    if f.category_id is not None:
        q = q.where(Case.category_id == f.category_id)
    if f.department_code:
        q = q.where(Case.department_code == f.department_code)
    if f.territory:
        q = q.where(Case.territory_code.startswith(f.territory, autoescape=True))
    if f.overdue:
        q = q.where(Case.due_at < utcnow())
    if f.since is not None:
        q = q.where(Case.reported_at >= f.since)
    return q


def locate(db: Session, lon: float, lat: float) -> tuple[str, str | None]:
    """(village code, grid code) of a WGS84 point; 422 outside the service area."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid("lon/lat must be WGS84 degrees", lon=lon, lat=lat)
    found = grid_at(db, lon, lat)
    if found is None:
        raise Invalid("the point lies outside the service area", lon=lon, lat=lat)
    return found


def routing_suggestion(db: Session, case: Case) -> Department | None:
    """The department the routing rules suggest for this case (the dispatcher may override)."""
    category = db.get(Category, case.category_id)
    if category is None:  # pragma: no cover  (foreign key)
        return None
    return suggest_department(db, category, case.division_code)


def events_of(db: Session, case: Case) -> Sequence[CaseEvent]:
    """The case's timeline, oldest first."""
    q = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    return db.scalars(q).all()


def summons_of(db: Session, case: Case) -> Sequence[CaseSummons]:
    q = select(CaseSummons).where(CaseSummons.case_id == case.id).order_by(CaseSummons.id)
    return db.scalars(q).all()


@dataclass(frozen=True)
class ClockView:
    clock: CaseClock
    used: float
    light: Light


def lights(db: Session, case: Case, now: datetime | None = None) -> list[ClockView]:
    """Every stage clock of the case with the share of its limit used and its light."""
    now = now or utcnow()
    cal = get_calendar(db)
    views = []
    for c in case.clocks:
        end = c.finished_at or now
        used = cal.used_fraction(c.started_at, c.due_at, end, c.unit)
        views.append(ClockView(c, used, cal.light(c.started_at, c.due_at, end, c.unit)))
    return views


@dataclass(frozen=True)
class EndedClock:
    """A finished stage clock and the step that ended it (handled, returned, rework …)."""

    view: ClockView
    ended_by: CaseAction | None


@dataclass(frozen=True)
class TimeLimits:
    """The case's time-limit panel: the running stage first, earlier runs as history."""

    current: ClockView | None
    history: list[EndedClock]  # newest first


def time_limits(
    db: Session, case: Case, events: Sequence[CaseEvent], now: datetime | None = None
) -> TimeLimits:
    """The running clock and the finished ones, each with the step of ``events`` that ended it."""
    # a clock ends in the same step (same instant) as the move that left its stage
    moves = {e.at: e.action for e in events if e.from_state != e.to_state}
    views = lights(db, case, now)
    current = next((v for v in views if v.clock.finished_at is None), None)
    history = [
        EndedClock(v, moves.get(v.clock.finished_at))
        for v in reversed(views)
        if v.clock.finished_at is not None
    ]
    return TimeLimits(current, history)


def require_staff_territory(user: User, code: str) -> None:
    """Staff may only report inside their own jurisdiction."""
    if user.role != Role.RESIDENT and not scope.Jurisdiction.of(user).covers_code(code):
        raise Forbidden("this location is outside your jurisdiction", territory=code)


# Who may read a reporter's contact (to call back): the command center, in its jurisdiction.
CONTACT_ROLES = DISPATCH_ROLES


def reporter_contact(
    db: Session, user: User, case: Case, *, purpose: str, ip: str = ""
) -> dict[str, str] | None:
    """The reporter's phone / e-mail for ``user``, logged as a personal-data read.

    None when the case has no contact or the user's role may not read it; the caller has
    already checked that the case lies in the user's jurisdiction.
    """
    given = (
        ("name", case.reporter_name),
        ("phone", case.reporter_phone),
        ("email", case.reporter_email),
    )
    contact = {k: v for k, v in given if v}
    if not contact or user.role not in CONTACT_ROLES:
        return None
    log_personal_data_read(
        db,
        actor=user,
        subject_type="case_reporter",
        subject_ids=[case.number],
        fields=sorted(contact),
        purpose=purpose,
        ip=ip,
    )
    db.commit()
    return contact
