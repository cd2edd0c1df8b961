"""Queries about cases: scope, lookup by number, lists, duplicates, lights and routing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Float, Integer, Select, bindparam, false, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import log_personal_data_read
from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.calendar.service import get_calendar
from civgrid.calendar.units import Light
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseSummons
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category
from civgrid.catalogue.service import suggest_department
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.departments.models import Department
from civgrid.errors import Forbidden, Invalid, NotFound, Unauthorized
from civgrid.grids.service import locate_point

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


def list_cases(
    db: Session, user: User | None, f: CaseFilter, *, limit: int = 100, offset: int = 0
) -> Sequence[Case]:
    """Cases the user may see, newest first, filtered."""
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
    q = q.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    return db.scalars(q).all()


def locate(db: Session, lon: float, lat: float) -> tuple[str, str | None]:
    """(village code, grid code) of a WGS84 point; 422 outside the service area."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid("lon/lat must be WGS84 degrees", lon=lon, lat=lat)
    loc = locate_point(db, lon, lat)
    if loc is None:
        raise Invalid("the point lies outside the service area", lon=lon, lat=lat)
    return loc.village_code, loc.grid_code


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


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine; plenty for a few hundred metres)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Duplicate:
    """A likely duplicate of a report: same category, near, recent."""

    id: int
    number: str
    state: CaseState
    reported_at: datetime
    distance_m: float


def find_duplicates(
    db: Session,
    *,
    category_id: int,
    lon: float,
    lat: float,
    at: datetime | None = None,
    exclude_id: int | None = None,
    radius_m: float | None = None,
    window_h: float | None = None,
    limit: int = 20,
) -> list[Duplicate]:
    """Live cases of the same category within the radius and time window, nearest first."""
    settings = get_settings()
    radius_m = settings.duplicate_radius_m if radius_m is None else radius_m
    window_h = settings.duplicate_window_hours if window_h is None else window_h
    at = at or utcnow()
    kx = 111_320 * max(math.cos(math.radians(lat)), 0.01)
    window = timedelta(hours=window_h)
    params = {
        "category_id": category_id,
        "lon": lon,
        "lat": lat,
        "kx": kx,
        "ky": _KY,
        "r2": radius_m * radius_m,
        "lat_lo": lat - radius_m / _KY,
        "lat_hi": lat + radius_m / _KY,
        "lon_lo": lon - radius_m / kx,
        "lon_hi": lon + radius_m / kx,
        "since": at - window,
        "until": at + window,
        "limit": limit,
    }
    q = _DUPLICATES
    if exclude_id is not None:
        q, params["exclude_id"] = _DUPLICATES_BUT_ONE, exclude_id
    db.flush()  # the session's own pending cases count too
    # On the session's connection: a plain select of columns needs none of the ORM's work.
    return [
        Duplicate(r.id, r.number, r.state, r.reported_at, _metres(lon, lat, r.lon, r.lat))
        for r in db.connection().execute(q, params)
    ]


_KY = 111_320.0  # metres per degree of latitude


def _duplicates_query(exclude: bool) -> AnySelect:
    """Built once (it is on the intake path); ``find_duplicates`` fills in the parameters.

    A bounding box narrows the candidates by index-friendly comparisons; the database then
    orders them by a planar distance (exact enough at a few hundred metres) and returns only
    the nearest few, so a hot spot with many reports stays cheap.
    """
    dx = (Case.lon - bindparam("lon", type_=Float)) * bindparam("kx", type_=Float)
    dy = (Case.lat - bindparam("lat", type_=Float)) * bindparam("ky", type_=Float)
    q = (
        select(Case.id, Case.number, Case.state, Case.reported_at, Case.lon, Case.lat)
        .where(
            Case.category_id == bindparam("category_id"),
            *[Case.state != s for s in (CaseState.MERGED, CaseState.VOIDED, CaseState.REJECTED)],
            Case.reported_at >= bindparam("since"),
            Case.reported_at <= bindparam("until"),
            Case.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
            Case.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
            dx * dx + dy * dy <= bindparam("r2", type_=Float),
        )
        .order_by(dx * dx + dy * dy, Case.id)
        .limit(bindparam("limit", type_=Integer))
    )
    return q.where(Case.id != bindparam("exclude_id")) if exclude else q


_DUPLICATES = _duplicates_query(exclude=False)
_DUPLICATES_BUT_ONE = _duplicates_query(exclude=True)


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
    contact = {
        k: v for k, v in (("phone", case.reporter_phone), ("email", case.reporter_email)) if v
    }
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
