"""Care form posts → care actions: reads and checks the fields, never changes rows itself."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import Role, User
from civgrid.care import actions
from civgrid.care.models import CareEnrolment, CareGroup, Consenter, VisitOutcome
from civgrid.errors import Invalid, NotFound


def field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def a_date(form: Any, name: str) -> date:
    try:
        return date.fromisoformat(field(form, name))
    except ValueError:
        raise Invalid(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def choice(enum: Any, form: Any, name: str) -> Any:
    try:
        return enum(field(form, name))
    except ValueError:
        raise Invalid(f"{name} is not one of the choices", field=name) from None


def _staff(db: Session, form: Any, name: str) -> User | None:
    ref = field(form, name)
    if not ref:
        return None
    user = db.scalar(select(User).where(User.username == ref, User.is_active.is_(True)))
    if user is None or user.role not in (Role.GRID_WORKER, Role.GRID_LEADER):
        raise Invalid(f"{name}: no grid worker {ref}", field=name)
    return user


def enrol(db: Session, user: User, form: Any) -> CareEnrolment:
    """The enrolment form: the person, the consent (a ticked box and its record), the work."""
    consent = None
    if field(form, "consent_given") == "1":
        consent = actions.Consent(
            consenter=choice(Consenter, form, "consenter"),
            given_on=a_date(form, "given_on"),
            data_kept=field(form, "data_kept"),
            services=field(form, "services"),
            who_may_see=field(form, "who_may_see"),
            guardian_name=field(form, "guardian_name"),
        )
    try:
        every = int(field(form, "visit_every_days") or "30")
    except ValueError:
        raise Invalid(
            "visit frequency must be a number of days", field="visit_every_days"
        ) from None
    return actions.enrol(
        db,
        actor=user,
        group=choice(CareGroup, form, "group"),
        grid_code=field(form, "grid"),
        person=actions.Person(
            field(form, "name"),
            field(form, "address"),
            field(form, "contact"),
            field(form, "needs"),
        ),
        consent=consent,
        worker=_staff(db, form, "worker"),
        volunteer=_staff(db, form, "volunteer"),
        visit_every_days=every,
    )


def visit(db: Session, user: User, enrolment_id: int, form: Any) -> None:
    actions.record_visit(
        db,
        enrolment_id,
        actor=user,
        visited_on=a_date(form, "visited_on"),
        outcome=choice(VisitOutcome, form, "outcome"),
        note=field(form, "note"),
        needs_found=field(form, "needs_found"),
    )


async def upload(form: Any, name: str = "file") -> tuple[str, bytes]:
    """The uploaded file's name and bytes (422 when none was chosen)."""
    item = form.get(name)
    if item is None or isinstance(item, str) or not getattr(item, "filename", ""):
        raise Invalid("choose a file", field=name)
    content = await item.read(actions.MAX_DOCUMENT + 1)
    return str(item.filename), bytes(content)


def missing(kind: str, ident: object) -> NotFound:
    return NotFound(f"{kind} {ident} not found")
