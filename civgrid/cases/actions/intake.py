"""Intake: report (上报) from any source, register (立案) or reject, self-handle, merge."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Table
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.cases import notify
from civgrid.cases.duplicates import Duplicate, Near
from civgrid.cases.engine import acting, actor_label, new_clock, require_note, show_clock
from civgrid.cases.models import Case, CaseClock, CaseEvent, CaseLevel, CaseSource, Priority
from civgrid.cases.newcase import insert_new_case, insert_new_case_async
from civgrid.cases.service import authorize, locate, require_staff_territory, routing_suggestion
from civgrid.cases.transitions import CaseAction, CaseState
from civgrid.catalogue.models import Category, Stage
from civgrid.catalogue.service import ensure_assignable_to_grid_worker, is_major_emergency
from civgrid.db.base import utcnow
from civgrid.errors import Invalid
from civgrid.workforce.clearance import check_field_clearance

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,28}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DESCRIPTION = 4000
MAX_NAME = 50
# The channels the command center takes reports on for a caller (电话 / 窗口受理).
CALL_SOURCES = (CaseSource.HOTLINE, CaseSource.WALK_IN)


@dataclass(frozen=True)
class Reported:
    """What ``report_case`` did: the new case, and the likely duplicates it was asked for."""

    case: Case
    likely_duplicates: list[Duplicate]


@dataclass(frozen=True)
class Contact:
    """A reporter's optional contact: the only personal data a case keeps (a caller on the
    hotline may also give the name they want to be addressed by)."""

    phone: str | None = None
    email: str | None = None
    name: str | None = None

    def validated(self) -> Contact:
        phone = (self.phone or "").strip() or None
        email = (self.email or "").strip() or None
        name = " ".join((self.name or "").split()) or None
        if phone and not PHONE.match(phone):
            raise Invalid("phone must be digits, spaces or dashes", field="phone")
        if email and (len(email) > 120 or not EMAIL.match(email)):
            raise Invalid("e-mail address is not valid", field="email")
        if name and (len(name) > MAX_NAME or not name.isprintable()):
            raise Invalid(
                "the caller's name is at most %(limit)s characters", field="name", limit=MAX_NAME
            )
        return Contact(phone, email, name)


def _category(db: Session, category: Category | int) -> Category:
    found = db.get(Category, category) if isinstance(category, int) else category
    if found is None:
        raise Invalid(f"category {category} does not exist", field="category")
    return found


def _intake_category(db: Session, category: Category | int) -> tuple[int, bool]:
    """(id, is a major emergency) of the reported category; 422 if it does not exist."""
    if isinstance(category, Category):
        return category.id, bool(category.is_major_emergency)
    major = is_major_emergency(db, category)
    if major is None:
        raise Invalid(f"category {category} does not exist", field="category")
    return category, major


def report_case(
    db: Session,
    *,
    source: CaseSource,
    category: Category | int,
    lon: float,
    lat: float,
    description: str,
    reporter: User | None = None,
    contact: Contact | None = None,
    actor: User | None = None,
    priority: Priority = Priority.NORMAL,
    address: str = "",
    now: datetime | None = None,
    duplicates: int = 0,
) -> Reported:
    """Report (上报) a case: the one intake pipeline for patrol, portal, hotline, Open311 …

    Locates the point, numbers the case, starts the registration clock, appends the first
    event and, for a major emergency, notifies the township office at once. ``actor`` None
    is an anonymous resident (portal, Open311 with its API key checked by the caller).
    With ``duplicates``, up to that many likely duplicates, as the cases were before this
    report, come back with it (on PostgreSQL, from the same statement that writes it).

    It is ``plan_report`` then ``write_report``.
    """
    planned = plan_report(
        db,
        source=source,
        category=category,
        lon=lon,
        lat=lat,
        description=description,
        reporter=reporter,
        contact=contact,
        actor=actor,
        priority=priority,
        address=address,
        now=now,
        duplicates=duplicates,
    )
    return write_report(db, planned)


def take_call(
    db: Session,
    *,
    actor: User,
    source: CaseSource,
    category: Category | int,
    lon: float,
    lat: float,
    description: str,
    contact: Contact | None = None,
    address: str = "",
    now: datetime | None = None,
) -> Reported:
    """A report taken by the command center for a caller (12345 hotline or the walk-in window).

    Only the roles allowed to ``take_call`` on cases may; the caller's optional name and
    contact are kept like a portal reporter's. The rest is ``report_case``, the one intake.
    """
    scope.check_role(actor, Case, "take_call")
    if source not in CALL_SOURCES:
        raise Invalid("a phone report comes from the hotline or the walk-in window", field="source")
    return report_case(
        db,
        source=source,
        category=category,
        lon=lon,
        lat=lat,
        description=description,
        contact=contact,
        actor=actor,
        address=address,
        now=now,
    )


@dataclass(frozen=True)
class NewCase:
    """A report checked and worked out, not yet written: the case, its first event and clock.

    The three are new ORM objects, in no session; ``near`` is the duplicate search asked for.
    """

    case: Case
    event: CaseEvent
    clock: CaseClock
    township_code: str
    major_emergency: bool
    near: Near | None


def plan_report(
    db: Session,
    *,
    source: CaseSource,
    category: Category | int,
    lon: float,
    lat: float,
    description: str,
    reporter: User | None = None,
    contact: Contact | None = None,
    actor: User | None = None,
    priority: Priority = Priority.NORMAL,
    address: str = "",
    now: datetime | None = None,
    duplicates: int = 0,
) -> NewCase:
    """``report_case``'s checks and work before writing: role, input, place, level, deadline.

    Writes nothing; reads only what the caches hold (the catalogue, the grid locator, the
    calendar and time limits), going to ``db`` when they are stale.
    """
    description = (description or "").strip()
    if not description:
        raise Invalid("description is required", field="description")
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description is longer than {MAX_DESCRIPTION} characters")
    category_id, major = _intake_category(db, category)
    contact = (contact or Contact()).validated()
    if actor is not None:
        scope.check_role(actor, Case, "report")
        if source == CaseSource.PATROL:
            check_field_clearance(db, actor)
    village, grid = locate(db, lon, lat)
    territory = grid or village
    if actor is not None:
        require_staff_territory(actor, territory)
    if reporter is None and actor is not None and actor.role == Role.RESIDENT:
        reporter = actor
    now = now or utcnow()
    clock = new_clock(db, category_id, Stage.REGISTER, now)
    case = Case(
        state=CaseState.REPORTED,
        source=CaseSource(source),
        level=CaseLevel.TOWNSHIP if major else CaseLevel.GRID if grid else CaseLevel.VILLAGE,
        priority=Priority.EMERGENCY if major else Priority(priority),
        category_id=category_id,
        lon=lon,
        lat=lat,
        address=address.strip()[:200],
        division_code=village,
        grid_code=grid,
        territory_code=territory,
        description=description,
        reporter_user_id=reporter.id if reporter else None,
        reporter_phone=contact.phone,
        reporter_email=contact.email,
        reporter_name=contact.name,
        reported_at=now,
        updated_at=now,
    )
    show_clock(case, clock)
    event = CaseEvent(
        at=now,
        actor_id=actor.id if actor else None,
        actor_label=actor_label(actor) if actor else f"anonymous ({source})",
        action=CaseAction.REPORT,
        from_state=None,
        to_state=CaseState.REPORTED,
        data={"source": str(source)},
    )
    near = Near.of(category_id, lon, lat, at=now, limit=duplicates) if duplicates else None
    return NewCase(case, event, clock, village[:9], major, near)


def write_report(
    db: Session,
    planned: NewCase,
    *,
    extras: Callable[[Case, list[Duplicate]], None] | None = None,
) -> Reported:
    """Write a planned report in ``db`` and commit: the rows, and the major-emergency notice.

    ``extras(case, likely duplicates)``, if given, writes what else belongs to the report in
    the same transaction (an Open311 request's token, answers and photo), before the commit.
    """
    case = planned.case
    try:
        found = insert_new_case(
            db, case, planned.event, planned.clock, planned.township_code, planned.near
        )
        if extras is not None:
            extras(case, found)
        if planned.major_emergency:
            notify.queue(
                db,
                case,
                "major_emergency",
                recipient_kind="office",
                recipient_ref=planned.township_code,
                message=f"重大突发事件 {case.number}: {case.description[:200]}",
                urgent=True,
            )
    except BaseException:
        notify.discard(db)
        raise
    notify.commit(db)
    return Reported(case, found)


async def write_report_async(
    conn: psycopg.AsyncConnection[Any],
    planned: NewCase,
    *,
    linked: tuple[Table, dict[str, Any]] | None = None,
) -> Reported:
    """Write a planned report on an autocommit PostgreSQL connection, off the thread pool.

    The one statement that writes the rows is its own transaction; ``linked`` (a table and a
    row's values) adds a row pointing to the new case (``case_id``) to it, such as an Open311
    request's token. A major emergency also queues a notice, in the same transaction: that
    takes ``write_report``.
    """
    if planned.major_emergency:
        raise ValueError("a major emergency is written with write_report (its notice)")
    found = await insert_new_case_async(
        conn,
        planned.case,
        planned.event,
        planned.clock,
        planned.township_code,
        planned.near,
        linked=linked,
    )
    return Reported(planned.case, found)


def register_case(
    db: Session, case: Case, *, actor: User, note: str = "", priority: Priority | None = None
) -> Case:
    """Register (立案) a reported case; the routing suggestion is recorded for the dispatcher."""
    with acting(db, case, actor, "dispatch", CaseAction.REGISTER) as step:
        if priority is not None:
            case.priority = Priority(priority)
        suggested = routing_suggestion(db, case)
        step.move(
            CaseAction.REGISTER,
            note=note,
            data={"suggested_department": suggested.code if suggested else None},
        )
    return case


def reject_case(db: Session, case: Case, *, actor: User, reason: str) -> Case:
    """Refuse to register (不予立案) a report, with the reason the reporter will see."""
    reason = require_note(reason, "a reason for rejecting")
    with acting(db, case, actor, "dispatch", CaseAction.REJECT) as step:
        step.move(CaseAction.REJECT, note=reason)
        case.outcome_note = reason
        notify.tell_reporters(db, case, f"案件 {case.number} 不予立案：{reason}")
    return case


def self_handle_case(
    db: Session, case: Case, *, actor: User, note: str, attachment_ids: list[int]
) -> Case:
    """A grid worker fixed a minor matter on the spot (自处置): the case closes at once."""
    note = require_note(note, "a note on what was done")
    with acting(db, case, actor, "self_handle", CaseAction.SELF_HANDLE) as step:
        ensure_assignable_to_grid_worker(_category(db, case.category_id))
        ids = step.attachments(attachment_ids)
        if not ids:
            raise Invalid("a self-handled case needs a photo of the result", field="attachments")
        data = {"role": actor.role.value}  # the public timeline says who fixed it
        step.move(CaseAction.SELF_HANDLE, note=note, data=data, attachment_ids=ids)
        case.outcome_note = note
        case.handled_at = step.now
        notify.tell_reporters(db, case, f"案件 {case.number} 已处置结案：{note}")
    return case


def merge_case(db: Session, case: Case, *, into: Case, actor: User, note: str = "") -> Case:
    """Merge ``case`` into ``into`` as a duplicate; its reporter will hear ``into``'s outcome."""
    if into.id == case.id:
        raise Invalid("a case cannot be merged into itself")
    with acting(db, case, actor, "dispatch", CaseAction.MERGE) as step:
        authorize(db, actor, into, "dispatch")
        if into.state in (CaseState.MERGED, CaseState.VOIDED, CaseState.REJECTED):
            raise Invalid(f"case {into.number} is {into.state.value}; merge into a live case")
        if into.category_id != case.category_id:
            raise Invalid("duplicates must have the same category", into=into.number)
        step.move(CaseAction.MERGE, note=note, data={"into": into.number})
        case.merged_into_id = into.id
        msg = f"您上报的案件 {case.number} 与 {into.number} 为同一问题，已合并办理"
        if into.state in (CaseState.CLOSED, CaseState.EVALUATED):
            msg += f"；处理结果：{into.outcome_note}"
        notify.tell_reporter(db, case, msg)
    return case
