"""Editing the holiday calendar (admin only; every edit audited)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth.models import Role, User
from civgrid.calendar.models import CalendarDay, DayKind
from civgrid.db.base import utcnow
from civgrid.errors import Forbidden, NotFound


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may edit the working calendar")


def set_day(
    db: Session, day: date, kind: DayKind, name: str, *, actor: User, ip: str = ""
) -> CalendarDay:
    """Mark a day as a holiday or a (make-up) working day, overriding the official data."""
    _require_admin(actor)
    row = db.get(CalendarDay, day) or CalendarDay(day=day)
    before = None if row.kind is None else str(row.kind)
    row.kind, row.name, row.updated_at, row.updated_by = kind, name, utcnow(), actor.id
    db.add(row)
    record(
        db,
        "calendar.set_day",
        actor=actor,
        ip=ip,
        object_type="calendar_day",
        object_id=day.isoformat(),
        detail={"kind": str(kind), "name": name, "before": before},
    )
    db.commit()
    return row


def clear_day(db: Session, day: date, *, actor: User, ip: str = "") -> None:
    """Remove a local edit, so the official data applies again."""
    _require_admin(actor)
    row = db.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"no local edit for {day.isoformat()}")
    db.delete(row)
    record(
        db,
        "calendar.clear_day",
        actor=actor,
        ip=ip,
        object_type="calendar_day",
        object_id=day.isoformat(),
        detail={"kind": str(row.kind), "name": row.name},
    )
    db.commit()
