"""Staffing, duty roster and qualification actions. Each is one transaction with an audit row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.errors import Conflict, Invalid, NotFound
from civgrid.grids.actions import authorise
from civgrid.grids.models import Grid, GridMember, NeighbourhoodUnit, Post
from civgrid.workforce.clearance import required_course_ids
from civgrid.workforce.models import DutyShift, ExamResult, TrainingCourse, TrainingSession

STAFF_MIN, STAFF_MAX = 5, 7


def staffing_warnings(grid: Grid) -> list[str]:
    """Warnings for a grid staffed outside the 5–7 band (the leader counts)."""
    n = len({m.user_id for m in grid.members} | ({grid.leader_id} if grid.leader_id else set()))
    if n < STAFF_MIN:
        return [f"understaffed: {n} < {STAFF_MIN}"]
    if n > STAFF_MAX:
        return [f"overstaffed: {n} > {STAFF_MAX}"]
    return []


def staff_grid(
    db: Session,
    grid: Grid,
    *,
    leader_id: int | None,
    members: Iterable[tuple[int, Post]],
    actor: User | None,
) -> list[str]:
    """Set a grid's leader and its members with their posts; returns the staffing warnings."""
    authorise(actor, grid.code)
    posts = {uid: Post(post) for uid, post in members}
    posts.pop(leader_id or 0, None)
    wanted = set(posts) | ({leader_id} if leader_id else set())
    staff = {u.id: u for u in db.scalars(select(User).where(User.id.in_(wanted)))}
    if missing := sorted(wanted - set(staff)):
        raise Invalid(f"unknown users {missing}")
    if bad := sorted(u.username for u in staff.values() if not u.is_staff or not u.is_active):
        raise Invalid(f"not active staff: {', '.join(bad)}")
    grid.leader_id = leader_id
    grid.members = [
        GridMember(grid_id=grid.id, user_id=u, post=p) for u, p in sorted(posts.items())
    ]
    record(
        db,
        "grid.staff",
        actor=actor,
        object_type="grid",
        object_id=grid.code,
        detail={"leader": leader_id, "members": {str(u): str(p) for u, p in posts.items()}},
    )
    db.commit()
    return staffing_warnings(grid)


def update_neighbourhood_unit(
    db: Session,
    unit: NeighbourhoodUnit,
    grid: Grid,
    *,
    name: str,
    households: int,
    contact_id: int | None,
    lon: float | None,
    lat: float | None,
    actor: User | None,
) -> NeighbourhoodUnit:
    """Edit a neighbourhood unit (联户单元): name, households, contact, place on the map."""
    authorise(actor, grid.code)
    if unit.retired_at is not None:
        raise Invalid("this unit is retired")
    if not 10 <= households <= 50:
        raise Invalid(f"a neighbourhood unit has 10–50 households, not {households}")
    unit.name, unit.households, unit.contact_id = name, households, contact_id
    unit.lon, unit.lat = lon, lat
    record(db, "grid.unit.update", actor=actor, object_type="neighbourhood_unit", object_id=unit.id)
    db.commit()
    return unit


def retire_neighbourhood_unit(
    db: Session, unit: NeighbourhoodUnit, grid: Grid, *, actor: User | None, now: datetime
) -> NeighbourhoodUnit:
    """Retire a neighbourhood unit; it is kept, no longer listed as current."""
    authorise(actor, grid.code)
    if unit.retired_at is None:
        unit.retired_at = now
        record(
            db, "grid.unit.retire", actor=actor, object_type="neighbourhood_unit", object_id=unit.id
        )
        db.commit()
    return unit


def add_duty_shift(
    db: Session,
    *,
    user: User,
    division_code: str,
    starts_at: datetime,
    ends_at: datetime,
    post: str,
    actor: User,
) -> DutyShift:
    """Put someone on the command center's duty roster (值班表)."""
    scope.check_role(actor, DutyShift, "change")
    if not scope.Jurisdiction.of(actor).covers_code(division_code):
        raise NotFound(f"{division_code} not found")
    if ends_at <= starts_at:
        raise Invalid("a shift must end after it starts")
    shift = DutyShift(
        user_id=user.id,
        division_code=division_code,
        starts_at=starts_at,
        ends_at=ends_at,
        post=post,
    )
    db.add(shift)
    db.flush()
    record(db, "duty.add", actor=actor, object_type="duty_shift", object_id=shift.id)
    db.commit()
    return shift


# --- qualification -----------------------------------------------------------------------


def _passed(db: Session, user_id: int, today: date) -> set[int]:
    rows = db.scalars(
        select(ExamResult.course_id).where(
            ExamResult.user_id == user_id,
            ExamResult.passed,
            (ExamResult.expires_on.is_(None)) | (ExamResult.expires_on >= today),
        )
    )
    return set(rows)


def refresh_clearance(db: Session, user_ids: Iterable[int], today: date) -> None:
    """Recompute ``field_cleared`` for these users from their current passed exams."""
    required = required_course_ids(db)
    # Through the ORM, so that the processes' remembered users (bearer tokens) are dropped.
    for user in db.scalars(select(User).where(User.id.in_(set(user_ids)))):
        user.field_cleared = required <= _passed(db, user.id, today)


def add_course(
    db: Session,
    *,
    code: str,
    name: str,
    required: bool,
    pass_mark: int,
    valid_months: int | None,
    actor: User | None,
) -> TrainingCourse:
    """Define a training course; a new required course clears nobody until they pass it."""
    if actor is not None:
        scope.check_role(actor, TrainingCourse, "change")
    if not 0 <= pass_mark <= 100:
        raise Invalid("the pass mark is between 0 and 100")
    if db.scalar(select(TrainingCourse.id).where(TrainingCourse.code == code)) is not None:
        raise Conflict(f"course code {code!r} is taken", field="code")
    course = TrainingCourse(
        code=code, name=name, required=required, pass_mark=pass_mark, valid_months=valid_months
    )
    db.add(course)
    db.flush()
    if required:
        for user in db.scalars(select(User).where(User.field_cleared)):
            user.field_cleared = False
    record(db, "training.course", actor=actor, object_type="training_course", object_id=course.id)
    db.commit()
    return course


def record_session(
    db: Session,
    course: TrainingCourse,
    *,
    held_on: date,
    place: str,
    attendees: Iterable[int],
    actor: User | None,
) -> TrainingSession:
    """Record a training session and who attended it."""
    row = TrainingSession(
        course_id=course.id, held_on=held_on, place=place, attendees=sorted(set(attendees))
    )
    db.add(row)
    db.flush()
    record(db, "training.session", actor=actor, object_type="training_session", object_id=row.id)
    db.commit()
    return row


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def record_exam(
    db: Session,
    course: TrainingCourse,
    worker: User,
    *,
    score: int,
    taken_on: date,
    today: date,
    actor: User | None,
) -> ExamResult:
    """Record an exam result; passing every required course clears the worker for field work."""
    if not 0 <= score <= 100:
        raise Invalid("an exam score is between 0 and 100")
    passed = score >= course.pass_mark
    expires = _add_months(taken_on, course.valid_months) if passed and course.valid_months else None
    result = ExamResult(
        course_id=course.id,
        user_id=worker.id,
        taken_on=taken_on,
        score=score,
        passed=passed,
        expires_on=expires,
    )
    db.add(result)
    db.flush()
    refresh_clearance(db, [worker.id], today)
    record(
        db,
        "training.exam",
        actor=actor,
        object_type="user",
        object_id=worker.id,
        detail={"course": course.code, "score": score, "passed": passed},
    )
    db.commit()
    db.refresh(worker)
    return result


def expire_clearances(db: Session, today: date) -> list[int]:
    """Re-check the cleared workers holding a required certificate that has expired (the sweep)."""
    required = required_course_ids(db)
    if not required:
        return []
    ids = list(
        db.scalars(
            select(User.id)
            .join(ExamResult, ExamResult.user_id == User.id)
            .where(
                User.field_cleared,
                ExamResult.course_id.in_(required),
                ExamResult.expires_on < today,
            )
            .distinct()
        )
    )
    if ids:
        refresh_clearance(db, ids, today)
        db.commit()
    return [u for u in ids if not db.get(User, u).field_cleared]  # type: ignore[union-attr]
