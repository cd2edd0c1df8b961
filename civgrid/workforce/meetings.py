"""The weekly grid meeting (网格例会): last week's prepared summary, attendance, minutes, PDF."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases.models import Case, CaseEvent
from civgrid.cases.transitions import ACTIVE, CaseAction
from civgrid.catalogue.models import Category
from civgrid.errors import Invalid
from civgrid.grids.models import Grid
from civgrid.workforce.models import GridMeeting, PatrolDay
from civgrid.workforce.patrols import day_span


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def _count(db: Session, grid_code: str, column: Any, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(Case.grid_code == grid_code, column >= start, column < end)
    return int(db.scalar(query) or 0)


def _events(db: Session, grid_code: str, action: CaseAction, start: datetime, end: datetime) -> int:
    query = (
        select(func.count())
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            Case.grid_code == grid_code,
            CaseEvent.action == action,
            CaseEvent.at >= start,
            CaseEvent.at < end,
        )
    )
    return int(db.scalar(query) or 0)


def week_summary(db: Session, grid: Grid, week_start: date) -> dict[str, Any]:
    """Last week in the grid: reports by category and source, the loop's counts, patrol hours."""
    start = day_span(week_start)[0]
    end = day_span(week_start + timedelta(days=6))[1]
    reported = db.execute(
        select(Category.name_zh, Case.source)
        .join(Category, Category.id == Case.category_id)
        .where(Case.grid_code == grid.code, Case.reported_at >= start, Case.reported_at < end)
    ).all()
    ratings = [
        r
        for r in db.scalars(
            select(Case.rating).where(
                Case.grid_code == grid.code,
                Case.evaluated_at >= start,
                Case.evaluated_at < end,
                Case.rating.is_not(None),
            )
        )
        if r is not None
    ]
    overdue = db.scalar(
        select(func.count()).where(
            Case.grid_code == grid.code, Case.state.in_(ACTIVE), Case.due_at < end
        )
    )
    staff = [m.user_id for m in grid.members] + ([grid.leader_id] if grid.leader_id else [])
    hours = db.execute(
        select(User.display_name, func.sum(PatrolDay.seconds))
        .join(User, User.id == PatrolDay.user_id)
        .where(
            PatrolDay.user_id.in_(staff),
            PatrolDay.day >= week_start,
            PatrolDay.day < week_start + timedelta(days=7),
        )
        .group_by(User.display_name)
    ).all()
    return {
        "week_start": week_start.isoformat(),
        "reports": len(reported),
        "by_category": dict(Counter(r[0] for r in reported).most_common()),
        "by_source": {str(k): v for k, v in Counter(r[1] for r in reported).most_common()},
        "registered": _count(db, grid.code, Case.registered_at, start, end),
        "handled": _count(db, grid.code, Case.handled_at, start, end),
        "closed": _count(db, grid.code, Case.closed_at, start, end),
        "overdue": int(overdue or 0),
        "returned": _events(db, grid.code, CaseAction.RETURN, start, end),
        "verified_pass": _events(db, grid.code, CaseAction.VERIFY_PASS, start, end),
        "verified_fail": _events(db, grid.code, CaseAction.VERIFY_FAIL, start, end),
        "ratings": len(ratings),
        "rating_mean": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "patrol_hours": {name: round(float(s or 0) / 3600, 1) for name, s in sorted(hours)},
        # Inspections and care visits are added here when those domains exist.
    }


def prepare_meeting(
    db: Session, grid: Grid, *, week_start: date, actor: User | None
) -> GridMeeting:
    """Prepare (or refresh, until it is held) the meeting on the week starting ``week_start``."""
    if actor is not None:
        scope.check_role(actor, GridMeeting, "change")
        if not scope.Jurisdiction.of(actor).covers_code(grid.code):
            raise Invalid(f"grid {grid.code} is outside your jurisdiction")
    if week_start.weekday() != 0:
        raise Invalid("a meeting summarises a week starting on a Monday")
    meeting = db.scalar(
        select(GridMeeting).where(
            GridMeeting.grid_id == grid.id, GridMeeting.week_start == week_start
        )
    )
    if meeting is None:
        meeting = GridMeeting(grid_id=grid.id, grid_code=grid.code, week_start=week_start)
        db.add(meeting)
    if meeting.held_at is None:
        meeting.summary = week_summary(db, grid, week_start)
    db.flush()
    record(db, "meeting.prepare", actor=actor, object_type="grid_meeting", object_id=meeting.id)
    db.commit()
    return meeting


def record_meeting(
    db: Session,
    meeting: GridMeeting,
    grid: Grid,
    *,
    attendees: Iterable[int],
    minutes: str,
    held_at: datetime,
    actor: User,
) -> GridMeeting:
    """The leader records who attended and the minutes; the meeting is then kept as held."""
    scope.check_role(actor, GridMeeting, "change")
    staff = {m.user_id for m in grid.members} | ({grid.leader_id} if grid.leader_id else set())
    wanted = sorted(set(attendees))
    if stray := [u for u in wanted if u not in staff]:
        raise Invalid(f"not staff of this grid: {stray}")
    meeting.attendees = wanted
    meeting.minutes = minutes.strip()
    meeting.held_at = held_at
    meeting.recorded_by_id = actor.id
    record(db, "meeting.record", actor=actor, object_type="grid_meeting", object_id=meeting.id)
    db.commit()
    return meeting


def meeting_pdf(db: Session, meeting: GridMeeting, grid: Grid, *, locale: str = "zh_CN") -> bytes:
    """The meeting as a printable PDF (WeasyPrint), Chinese first."""
    from civgrid.cases.models import CaseSource
    from civgrid.web.pdf import html_to_pdf
    from civgrid.web.templating import environment

    names = dict(
        db.execute(select(User.id, User.display_name).where(User.id.in_(meeting.attendees))).all()
    )
    html = (
        environment()
        .get_template("workforce/meeting_pdf.html")
        .render(
            locale=locale,
            meeting=meeting,
            grid=grid,
            s=meeting.summary,
            sources={str(s): s.label(locale) for s in CaseSource},
            attendees=[names[u] for u in meeting.attendees if u in names],
        )
    )
    return html_to_pdf(html)
