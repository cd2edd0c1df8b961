"""Workforce API under /api/v1 (thin: the work is in actions, patrols and service)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import actions as auth_actions
from civgrid.auth import scope
from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import User
from civgrid.auth.schemas import UserOut
from civgrid.db.base import utcnow
from civgrid.db.session import get_db
from civgrid.errors import Forbidden, Invalid, NotFound
from civgrid.grids.actions import create_neighbourhood_unit
from civgrid.grids.models import Grid, NeighbourhoodUnit
from civgrid.grids.schemas import NeighbourhoodUnitOut
from civgrid.web.responses import AUTHENTICATED
from civgrid.workforce import actions, appraisal, meetings, patrols, service
from civgrid.workforce.export import appraisal_pdf, appraisal_xlsx, month_xlsx
from civgrid.workforce.models import Appraisal, DutyShift, GridMeeting, TrainingCourse
from civgrid.workforce.schemas import (
    AppraisalItemIn,
    AppraisalRunIn,
    BatchIn,
    BatchOut,
    CommentIn,
    CourseIn,
    EndIn,
    ExamIn,
    MeetingIn,
    MeetingPrepareIn,
    MemberOut,
    PasswordIn,
    PatrolOut,
    ShiftIn,
    StaffIn,
    StaffOut,
    UnitIn,
    UserUpdate,
)

api = APIRouter(prefix="/api/v1", tags=["workforce"], responses=AUTHENTICATED)

DB = Annotated[Session, Depends(get_db)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CurrentUser = Annotated[User, Depends(current_user)]


# --- staffing -------------------------------------------------------------------------------


def _member(user: User, post: str) -> MemberOut:
    return MemberOut(
        user_id=user.id, username=user.username, display_name=user.display_name, post=post
    )


def _staff(db: Session, grid: Grid, warnings: list[str]) -> StaffOut:
    ids = [m.user_id for m in grid.members] + ([grid.leader_id] if grid.leader_id else [])
    users = {u.id: u for u in db.query(User).filter(User.id.in_(ids))}
    leader = users.get(grid.leader_id) if grid.leader_id else None
    return StaffOut(
        grid_code=grid.code,
        leader=_member(leader, "leader") if leader else None,
        members=[_member(users[m.user_id], str(m.post)) for m in grid.members],
        warnings=warnings,
    )


@api.get("/grids/{grid_id}/staff", response_model=StaffOut)
def get_staff(grid_id: int, db: DB, user: CurrentUser) -> StaffOut:
    """A grid's leader and members with their posts, and a warning outside 5–7."""
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    return _staff(db, grid, actions.staffing_warnings(grid))


@api.put("/grids/{grid_id}/staff", response_model=StaffOut)
def put_staff(grid_id: int, body: StaffIn, db: DB, user: CurrentUser) -> StaffOut:
    """Staff a grid: leader, deputy, full-time and part-time workers."""
    grid = scope.get_for(db, user, Grid, grid_id, "change")
    warnings = actions.staff_grid(
        db,
        grid,
        leader_id=body.leader_id,
        members=[(m.user_id, m.post) for m in body.members],
        actor=user,
    )
    return _staff(db, grid, warnings)


@api.post("/grids/{grid_id}/units", response_model=NeighbourhoodUnitOut, status_code=201)
def create_unit(grid_id: int, body: UnitIn, db: DB, user: CurrentUser) -> Any:
    """Create a neighbourhood unit (联户单元) in a grid, placed on the map."""
    grid = scope.get_for(db, user, Grid, grid_id, "change")
    unit = create_neighbourhood_unit(
        db, grid, name=body.name, households=body.households, contact_id=body.contact_id, actor=user
    )
    return actions.update_neighbourhood_unit(
        db,
        unit,
        grid,
        name=body.name,
        households=body.households,
        contact_id=body.contact_id,
        lon=body.lon,
        lat=body.lat,
        actor=user,
    )


@api.put("/units/{unit_id}", response_model=NeighbourhoodUnitOut)
def update_unit(unit_id: int, body: UnitIn, db: DB, user: CurrentUser) -> Any:
    """Edit a neighbourhood unit: name, households, contact, place."""
    unit = db.get(NeighbourhoodUnit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    grid = scope.get_for(db, user, Grid, unit.grid_id, "change")
    return actions.update_neighbourhood_unit(
        db,
        unit,
        grid,
        name=body.name,
        households=body.households,
        contact_id=body.contact_id,
        lon=body.lon,
        lat=body.lat,
        actor=user,
    )


@api.post("/units/{unit_id}/retire", status_code=204)
def retire_unit(unit_id: int, db: DB, user: CurrentUser) -> Response:
    """Retire a neighbourhood unit (联户单元)."""
    unit = db.get(NeighbourhoodUnit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    grid = scope.get_for(db, user, Grid, unit.grid_id, "change")
    actions.retire_neighbourhood_unit(db, unit, grid, actor=user, now=utcnow())
    return Response(status_code=204)


# --- user administration --------------------------------------------------------------------


def check_grants(admin: User, scopes: list[tuple[str, str]]) -> None:
    """An admin grants only scopes inside their own jurisdiction (403 otherwise)."""
    j = scope.Jurisdiction.of(admin)
    for kind, ref in scopes:
        if kind in ("division", "grid") and not j.covers_code(ref):
            raise Forbidden(f"scope {kind} {ref} is outside your jurisdiction")
        if kind == "all" and not j.everywhere:
            raise Forbidden("only a national administrator may grant scope 'all'")


@api.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: int, body: UserUpdate, request: Request, db: DB, user: CurrentUser
) -> User:
    """Edit a user; new scopes must lie inside the admin's own jurisdiction."""
    target = scope.get_for(db, user, User, user_id, "change")
    check_grants(user, [(s.kind, s.ref) for s in body.scopes or []])
    return auth_actions.update_user(
        db,
        target,
        display_name=body.display_name,
        role=body.role,
        employment=body.employment,
        work_phone=body.work_phone,
        scopes=None if body.scopes is None else [(s.kind, s.ref) for s in body.scopes],
        actor=user,
        ip=client_ip(request),
    )


@api.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate(user_id: int, request: Request, db: DB, user: CurrentUser) -> User:
    """Deactivate a user: their sessions and tokens stop working at once."""
    target = scope.get_for(db, user, User, user_id, "change")
    if target.id == user.id:
        raise Forbidden("you cannot deactivate yourself")
    auth_actions.deactivate_user(db, target, actor=user, ip=client_ip(request))
    return target


@api.post("/users/{user_id}/reactivate", response_model=UserOut)
def reactivate(user_id: int, request: Request, db: DB, user: CurrentUser) -> User:
    target = scope.get_for(db, user, User, user_id, "change")
    auth_actions.reactivate_user(db, target, actor=user, ip=client_ip(request))
    return target


@api.post("/users/{user_id}/password", status_code=204)
def reset_password(
    user_id: int, body: PasswordIn, request: Request, db: DB, user: CurrentUser
) -> Response:
    """Set a new password for a user; their sessions and tokens end."""
    target = scope.get_for(db, user, User, user_id, "change")
    auth_actions.set_password(db, target, body.password, actor=user, ip=client_ip(request))
    return Response(status_code=204)


# --- duty roster and training -------------------------------------------------------------


@api.post("/duty", status_code=201)
def add_shift(body: ShiftIn, db: DB, user: CurrentUser) -> dict[str, Any]:
    """Put a staff member on the duty roster (值班表)."""
    worker = scope.get_for(db, user, User, body.user_id, "view")
    shift = actions.add_duty_shift(
        db,
        user=worker,
        division_code=body.division_code,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        post=body.post,
        actor=user,
    )
    return {"id": shift.id}


@api.get("/duty/now")
def duty_now(db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    """Who is on duty now in the caller's territory."""
    scope.check_role(user, DutyShift, "view")
    return [
        {
            "user_id": u.id,
            "name": u.display_name,
            "post": s.post,
            "division_code": s.division_code,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
        }
        for s, u in service.on_duty(db, user, at=utcnow())
    ]


@api.post("/training/courses", status_code=201)
def add_course(body: CourseIn, db: DB, user: CurrentUser) -> dict[str, Any]:
    course = actions.add_course(db, **body.model_dump(), actor=user)
    return {"id": course.id}


@api.post("/training/courses/{course_id}/exams", status_code=201)
def add_exam(course_id: int, body: ExamIn, db: DB, user: CurrentUser) -> dict[str, Any]:
    """Record an exam result; passing every required course clears the worker for field work."""
    course = scope.get_for(db, user, TrainingCourse, course_id, "change")
    worker = scope.get_for(db, user, User, body.user_id, "view")
    result = actions.record_exam(
        db,
        course,
        worker,
        score=body.score,
        taken_on=body.taken_on,
        today=patrols.local_day(utcnow()),
        actor=user,
    )
    return {"id": result.id, "passed": result.passed, "field_cleared": worker.field_cleared}


# --- patrols --------------------------------------------------------------------------------


@api.post("/patrols", response_model=PatrolOut, status_code=201)
def start_patrol(db: DB, user: CurrentUser) -> Any:
    """Start my patrol (only qualified staff with a grid; one open patrol at a time)."""
    return patrols.start_patrol(db, user, now=utcnow())


@api.get("/patrols", response_model=list[PatrolOut])
def list_patrols(
    db: DB, user: CurrentUser, day: date | None = None, worker: int | None = None
) -> Any:
    return service.patrols(db, user, day=day, worker_id=worker)


@api.get("/patrols/open", response_model=PatrolOut | None)
def my_open_patrol(db: DB, user: CurrentUser) -> Any:
    return service.open_patrol(db, user)


@api.get("/patrols/month")
def month(
    db: DB,
    user: CurrentUser,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
    prefix: Annotated[str, Query(pattern=r"^\d{0,15}$")] = "",
    format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
) -> Any:
    """The monthly patrol table per grid and village: days, hours, days meeting the rule."""
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise Invalid("%(value)s is not a month (YYYY-MM)", field="month", value=month) from None
    rows = service.month_table(db, user, month=first, prefix=prefix)
    if format == "xlsx":
        return Response(
            month_xlsx(rows, month),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="patrols-{month}.xlsx"'},
        )
    return [r.__dict__ for r in rows]


@api.get("/patrols/{patrol_id}", response_model=PatrolOut)
def get_patrol(patrol_id: int, db: DB, user: CurrentUser) -> Any:
    return service.patrol_for(db, user, patrol_id)


@api.get("/patrols/{patrol_id}/replay")
def get_replay(patrol_id: int, db: DB, user: CurrentUser) -> dict[str, Any]:
    """Positions with times, stops and the day's reports, for the replay page."""
    return service.replay(db, service.patrol_for(db, user, patrol_id))


@api.post("/patrols/{patrol_id}/points", response_model=BatchOut)
async def upload(patrol_id: int, body: BatchIn, db: DB, user: CurrentUser) -> Any:
    """Upload a batch of positions; the same ``key`` sent again is stored once."""
    return await run_in_threadpool(_upload, db, user, patrol_id, body)


def _upload(db: Session, user: User, patrol_id: int, body: BatchIn) -> dict[str, Any]:
    patrol = service.patrol_for(db, user, patrol_id)
    points = [patrols.RawPoint(p.when(), p.lon, p.lat, p.acc) for p in body.points]
    return patrols.upload_points(
        db, patrol, user, key=body.key, points=points, now=utcnow()
    ).as_dict()


@api.post("/patrols/{patrol_id}/end", response_model=PatrolOut)
def end(patrol_id: int, db: DB, user: CurrentUser, body: EndIn | None = None) -> Any:
    """End my patrol (a repeat answers the same)."""
    patrol = service.patrol_for(db, user, patrol_id)
    return patrols.end_patrol(
        db, patrol, user, now=utcnow(), ended_at=body.ended_at if body else None
    )


# --- weekly grid meetings -------------------------------------------------------------------


@api.post("/grids/{grid_id}/meetings", status_code=201)
def prepare_meeting(
    grid_id: int, body: MeetingPrepareIn, db: DB, user: CurrentUser
) -> dict[str, Any]:
    """Prepare the meeting on a week (its Monday): the summary of that week in the grid."""
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    meeting = meetings.prepare_meeting(db, grid, week_start=body.week_start, actor=user)
    return _meeting(meeting)


@api.get("/grids/{grid_id}/meetings")
def list_meetings(grid_id: int, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    query = scope.restrict(select(GridMeeting).where(GridMeeting.grid_id == grid.id), user, "view")
    return [_meeting(m) for m in db.scalars(query.order_by(GridMeeting.week_start.desc()))]


@api.put("/meetings/{meeting_id}")
def record_meeting(meeting_id: int, body: MeetingIn, db: DB, user: CurrentUser) -> dict[str, Any]:
    """The leader records attendance and minutes."""
    meeting = scope.get_for(db, user, GridMeeting, meeting_id, "change")
    grid = db.get(Grid, meeting.grid_id)
    if grid is None:  # pragma: no cover - a meeting's grid is never deleted
        raise NotFound(f"meeting {meeting_id} not found")
    meetings.record_meeting(
        db,
        meeting,
        grid,
        attendees=body.attendees,
        minutes=body.minutes,
        held_at=utcnow(),
        actor=user,
    )
    return _meeting(meeting)


@api.get("/meetings/{meeting_id}.pdf")
def meeting_pdf(meeting_id: int, db: DB, user: CurrentUser) -> Response:
    """The meeting, printable."""
    meeting = scope.get_for(db, user, GridMeeting, meeting_id, "view")
    grid = db.get(Grid, meeting.grid_id)
    if grid is None:  # pragma: no cover
        raise NotFound(f"meeting {meeting_id} not found")
    pdf = meetings.meeting_pdf(db, meeting, grid)
    name = f"meeting-{grid.code}-{meeting.week_start.isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def _meeting(m: GridMeeting) -> dict[str, Any]:
    return {
        "id": m.id,
        "grid_code": m.grid_code,
        "week_start": m.week_start.isoformat(),
        "summary": m.summary,
        "attendees": m.attendees,
        "minutes": m.minutes,
        "held_at": m.held_at.isoformat() if m.held_at else None,
    }


# --- quarterly appraisal --------------------------------------------------------------------


def _appraisal(a: Appraisal, who: dict[int, str]) -> dict[str, Any]:
    return {
        "id": a.id,
        "quarter": a.quarter,
        "user_id": a.user_id,
        "name": who.get(a.user_id, ""),
        "grid_code": a.territory_code,
        "parts": a.parts,
        "total": a.total,
        "grade": a.grade,
        "rank": a.rank,
        "comment": a.comment,
    }


@api.post("/appraisals/run")
def run_appraisal(body: AppraisalRunIn, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    """Score a quarter for the workers under a division (admins)."""
    rows = appraisal.appraise_quarter(db, quarter=body.quarter, division=body.division, actor=user)
    who = service.names(db, {r.user_id for r in rows})
    return [_appraisal(r, who) for r in rows]


@api.post("/appraisals/items", status_code=204)
def enter_item(body: AppraisalItemIn, db: DB, user: CurrentUser) -> Response:
    """Enter a manual item (training, meeting attendance …) for a worker's quarter."""
    worker = scope.get_for(db, user, User, body.user_id, "view")
    appraisal.enter_item(
        db, quarter=body.quarter, worker=worker, item=body.item, points=body.points, actor=user
    )
    return Response(status_code=204)


@api.get("/appraisals")
def list_appraisals(
    db: DB,
    user: CurrentUser,
    quarter: Annotated[str, Query(pattern=r"^\d{4}-Q[1-4]$")],
    division: Annotated[str, Query(pattern=r"^\d{0,15}$")] = "",
    format: Annotated[str, Query(pattern="^(json|xlsx|pdf)$")] = "json",
) -> Any:
    """A quarter's appraisals in the caller's territory, ranked; XLSX and PDF too."""
    query = scope.restrict(select(Appraisal).where(Appraisal.quarter == quarter), user, "view")
    if division:
        query = query.where(Appraisal.territory_code.startswith(division, autoescape=True))
    rows = db.scalars(query.order_by(Appraisal.rank)).all()
    who = service.names(db, {r.user_id for r in rows})
    if format == "json":
        return [_appraisal(r, who) for r in rows]
    units = appraisal.unit_scores(db, quarter=quarter, division=division) if division else []
    if format == "xlsx":
        data, media = appraisal_xlsx(rows, who, units, quarter), XLSX
    else:
        data, media = appraisal_pdf(rows, who, units, quarter, division), "application/pdf"
    name = f"appraisal-{quarter}-{division or 'all'}.{format}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@api.get("/me/appraisals")
def my_appraisals(db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    """My own appraisals, newest quarter first."""
    rows = db.scalars(
        select(Appraisal).where(Appraisal.user_id == user.id).order_by(Appraisal.quarter.desc())
    )
    return [_appraisal(r, {user.id: user.display_name}) for r in rows]


@api.put("/me/appraisals/{appraisal_id}/comment")
def comment_appraisal(
    appraisal_id: int, body: CommentIn, db: DB, user: CurrentUser
) -> dict[str, Any]:
    """Add my comment to my own appraisal."""
    row = db.get(Appraisal, appraisal_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"appraisal {appraisal_id} not found")
    appraisal.comment(db, row, user, body.comment)
    return _appraisal(row, {user.id: user.display_name})
