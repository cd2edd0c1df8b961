"""The workforce demo: training records, a week of patrols along the demo streets, last week's
grid meetings and last quarter's appraisal, all made through the real actions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shapely.geometry import LineString
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.db.base import utcnow
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid
from civgrid.workforce import actions, appraisal, meetings, patrols
from civgrid.workforce.clearance import FIELD_ROLES
from civgrid.workforce.models import TrainingCourse

TOWNSHIP = "441900101"
STEP_S = 30  # one demo position every 30 s keeps the demo small


def load_workforce_demo(db: Session, *, now: datetime | None = None) -> int:
    """Load the workforce demo once; returns the number of patrols made (0 when present)."""
    if db.scalar(select(TrainingCourse.id).where(TrainingCourse.code == "GW-BASIC")):
        return 0
    now = now or utcnow()
    today = patrols.local_day(now)
    _training(db, today)
    made = _patrol_week(db, today)
    _meetings(db, today)
    _appraisal(db, today)
    return made


def _training(db: Session, today: date) -> None:
    """The induction course everyone in the field passed, and a fire-safety course expiring soon."""
    basic = actions.add_course(
        db,
        code="GW-BASIC",
        name="网格员岗前培训",
        required=True,
        pass_mark=60,
        valid_months=None,
        actor=None,
    )
    fire = actions.add_course(
        db,
        code="GW-FIRE",
        name="消防安全检查",
        required=False,
        pass_mark=70,
        valid_months=12,
        actor=None,
    )
    field = db.scalars(select(User).where(User.role.in_(FIELD_ROLES), User.is_active)).all()
    actions.record_session(
        db,
        basic,
        held_on=today - timedelta(days=60),
        place="石碣镇网格办",
        attendees=[u.id for u in field],
        actor=None,
    )
    for i, user in enumerate(field):
        actions.record_exam(
            db,
            basic,
            user,
            score=72 + i % 25,
            taken_on=today - timedelta(days=60),
            today=today,
            actor=None,
        )
        actions.record_exam(
            db,
            fire,
            user,
            score=85,
            taken_on=today - timedelta(days=350 - i % 30),
            today=today,
            actor=None,
        )


def _walk(grid: Grid, start: datetime, hours: float) -> list[patrols.RawPoint]:
    """Around the grid's edge (its streets) at 1.1 m/s, with a 5-minute stop every hour."""
    ring = LineString(from_text(grid.geometry).exterior.coords)
    metres = ring.length * 100_000  # degrees to metres, roughly, at this latitude
    out = []
    walked = 0.0
    for i in range(int(hours * 3600 / STEP_S)):
        t = i * STEP_S
        if t % 3600 < 3300:  # the last 5 minutes of each hour: a stop
            walked += 1.1 * STEP_S
        lon, lat = ring.interpolate((walked % metres) / metres, normalized=True).coords[0]
        out.append(patrols.RawPoint(start + timedelta(seconds=t), lon, lat, 8.0))
    return out


def _patrol_week(db: Session, today: date) -> int:
    """Each staffed field user patrols 09:00 for 4–5 h on each of the last seven days."""
    made = 0
    for user in db.scalars(select(User).where(User.role.in_(FIELD_ROLES), User.is_active)).all():
        grids = patrols.worker_grids(db, user.id)
        if not grids:
            continue
        for back in range(7, 0, -1):
            day = today - timedelta(days=back)
            start = patrols.day_span(day)[0] + timedelta(hours=9)
            hours = 4.0 + (back % 3) * 0.5 - (0.75 if back == 3 else 0)
            patrol = patrols.start_patrol(db, user, now=start)
            points = _walk(grids[0], start, hours)
            for k in range(0, len(points), 60):
                patrols.upload_points(
                    db,
                    patrol,
                    user,
                    key=f"demo-{patrol.id}-{k}",
                    points=points[k : k + 60],
                    now=start + timedelta(hours=hours),
                )
            end = start + timedelta(hours=hours)
            patrols.end_patrol(db, patrol, user, now=end)
            made += 1
    return made


def _meetings(db: Session, today: date) -> None:
    """Last week's meeting in every staffed grid, held and minuted."""
    week = meetings.week_of(today) - timedelta(days=7)
    for grid in db.scalars(
        select(Grid).where(Grid.valid_to.is_(None), Grid.code.startswith(TOWNSHIP))
    ).all():
        staff = [m.user_id for m in grid.members] + ([grid.leader_id] if grid.leader_id else [])
        if not staff:
            continue
        meeting = meetings.prepare_meeting(db, grid, week_start=week, actor=None)
        leader = db.get(User, grid.leader_id) if grid.leader_id else None
        if leader is not None:
            held = patrols.day_span(week + timedelta(days=7))[0] + timedelta(hours=1)
            meetings.record_meeting(
                db,
                meeting,
                grid,
                attendees=staff,
                minutes="通报上周上报与处置情况；本周重点：垃圾分类巡查、消防通道检查。",
                held_at=held,
                actor=leader,
            )


def _appraisal(db: Session, today: date) -> None:
    """Last quarter's appraisal of the township, with the office's manual items."""
    q = (today.month - 1) // 3
    year, quarter = (today.year, q) if q else (today.year - 1, 4)
    label = f"{year}-Q{quarter}"
    workers = [u for u, _ in appraisal.workers_in(db, TOWNSHIP)]
    for u in workers:
        for item, points in (("training", 10.0), ("meeting_attendance", 8.0 + u.id % 3)):
            db.add(appraisal.AppraisalEntry(quarter=label, user_id=u.id, item=item, points=points))
    db.commit()
    appraisal.appraise_quarter(db, quarter=label, division=TOWNSHIP, actor=None)
