"""Calendar API: the days off and make-up days in force, admin edits, a deadline calculator."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import User
from civgrid.calendar import actions, service
from civgrid.calendar.schemas import DayIn, DayOut, DeadlineOut
from civgrid.calendar.units import TimeUnit
from civgrid.calendar.workcalendar import CalendarError
from civgrid.db.session import get_db
from civgrid.errors import Invalid
from civgrid.web.responses import AUTHENTICATED

api = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], responses=AUTHENTICATED)


@api.get("/days", response_model=list[DayOut])
def list_days(
    db: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(current_user)],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> list[DayOut]:
    """Holidays and make-up working days of a year: official data with local edits applied."""
    days = {
        d: DayOut(day=d, kind=o.kind, name=o.name_zh, source="official")
        for d, o in service.official_days().items()
        if d.year == year
    }
    for edit in service.local_edits(db, year):
        days[edit.day] = DayOut(day=edit.day, kind=edit.kind, name=edit.name, source="local")
    return [days[d] for d in sorted(days)]


@api.put("/days/{day}", response_model=DayOut)
def put_day(
    day: date,
    body: DayIn,
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(current_user)],
) -> DayOut:
    """Mark a day as a holiday or a make-up working day (admin)."""
    row = actions.set_day(db, day, body.kind, body.name, actor=user, ip=client_ip(request))
    return DayOut(day=row.day, kind=row.kind, name=row.name, source="local")


@api.delete("/days/{day}", status_code=204)
def delete_day(
    day: date,
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(current_user)],
) -> Response:
    """Drop a local edit; the official data applies again (admin)."""
    actions.clear_day(db, day, actor=user, ip=client_ip(request))
    return Response(status_code=204)


@api.get("/deadline", response_model=DeadlineOut)
def deadline(
    db: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(current_user)],
    start: datetime,
    amount: Annotated[float, Query(ge=0, le=10_000)],
    unit: TimeUnit,
) -> DeadlineOut:
    """When a time limit that starts at ``start`` runs out on this deployment's calendar."""
    if start.tzinfo is None:
        raise Invalid("start needs a UTC offset, e.g. 2026-10-09T17:00:00+08:00")
    cal = service.get_calendar(db)
    try:
        due = cal.deadline(start, amount, unit)
    except CalendarError as exc:
        raise Invalid(str(exc)) from None
    return DeadlineOut(
        start=start,
        amount=amount,
        unit=unit,
        deadline=due,
        deadline_local=due.astimezone(cal.tz).isoformat(),
    )
