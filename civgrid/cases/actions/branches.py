"""Branches off the main line: extension (延期), suspension (挂账), void (作废), reopen,
escalation, information added by the reporter (补充信息)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.cases import notify
from civgrid.cases.attachments import CheckedImage, add_photos
from civgrid.cases.engine import acting, open_clock, require_note
from civgrid.cases.models import AttachmentKind, Case, CaseLevel
from civgrid.cases.transitions import CaseAction
from civgrid.errors import Conflict, Invalid

MAX_EXTENSION = 60.0  # in the running clock's unit; longer matters are suspended (挂账)


def request_extension(db: Session, case: Case, *, actor: User, amount: float, reason: str) -> Case:
    """The department asks for more time (申请延期), in the unit of the running time limit."""
    reason = require_note(reason, "a reason for the extension")
    if not 0 < amount <= MAX_EXTENSION:
        raise Invalid(f"extension must be more than 0 and at most {MAX_EXTENSION:g}")
    with acting(db, case, actor, "handle", CaseAction.REQUEST_EXTENSION) as step:
        if case.extension_amount is not None:
            raise Conflict(f"case {case.number} already has an extension request pending")
        step.move(
            CaseAction.REQUEST_EXTENSION,
            note=reason,
            data={"amount": amount, "unit": str(case.due_unit)},
        )
        case.extension_amount, case.extension_reason = amount, reason
    return case


def approve_extension(db: Session, case: Case, *, actor: User, note: str = "") -> Case:
    """A dispatcher approves (批准延期) the pending request: the deadline moves on the calendar."""
    with acting(db, case, actor, "dispatch", CaseAction.APPROVE_EXTENSION) as step:
        clock = open_clock(case)
        if case.extension_amount is None or clock is None:
            raise Conflict(f"case {case.number} has no extension request pending")
        old_due = clock.due_at
        calendar = get_calendar(db)
        clock.due_at = calendar.deadline(old_due, case.extension_amount, clock.unit)
        clock.yellow_at = calendar.turns_yellow(clock.started_at, clock.due_at, clock.unit)
        clock.amount += case.extension_amount
        clock.escalated_at = None
        case.due_at, case.yellow_at = clock.due_at, clock.yellow_at
        step.move(
            CaseAction.APPROVE_EXTENSION,
            note=note,
            data={
                "amount": case.extension_amount,
                "unit": str(clock.unit),
                "old_due": old_due.isoformat(),
                "new_due": clock.due_at.isoformat(),
            },
        )
        case.extension_amount, case.extension_reason = None, ""
    return case


def deny_extension(db: Session, case: Case, *, actor: User, reason: str) -> Case:
    """A dispatcher refuses the pending extension request."""
    reason = require_note(reason, "a reason for refusing")
    with acting(db, case, actor, "dispatch", CaseAction.DENY_EXTENSION) as step:
        if case.extension_amount is None:
            raise Conflict(f"case {case.number} has no extension request pending")
        step.move(CaseAction.DENY_EXTENSION, note=reason)
        case.extension_amount, case.extension_reason = None, ""
    return case


def suspend_case(db: Session, case: Case, *, actor: User, reason: str) -> Case:
    """Suspend (挂账) a long-term matter: its clock stops until it is resumed."""
    reason = require_note(reason, "a reason for suspending")
    with acting(db, case, actor, "dispatch", CaseAction.SUSPEND) as step:
        step.move(CaseAction.SUSPEND, note=reason)
        case.extension_amount, case.extension_reason = None, ""
    return case


def resume_case(db: Session, case: Case, *, actor: User, note: str = "") -> Case:
    """Resume a suspended case in the state it had; its stage clock starts afresh."""
    with acting(db, case, actor, "dispatch", CaseAction.RESUME) as step:
        step.move(CaseAction.RESUME, note=note)
    return case


def void_case(db: Session, case: Case, *, actor: User, reason: str) -> Case:
    """Void (作废) a case reported by mistake or not a real matter."""
    reason = require_note(reason, "a reason for voiding")
    with acting(db, case, actor, "dispatch", CaseAction.VOID) as step:
        step.move(CaseAction.VOID, note=reason)
        case.outcome_note = reason
    return case


def reopen_case(db: Session, case: Case, *, actor: User, reason: str) -> Case:
    """Reopen a closed or rejected case: it is registered again and the dispatch clock runs."""
    reason = require_note(reason, "a reason for reopening")
    with acting(db, case, actor, "dispatch", CaseAction.REOPEN) as step:
        step.move(CaseAction.REOPEN, note=reason)
        case.rating = None
    return case


def office_code(case: Case, level: CaseLevel) -> str:
    """The division code of the office responsible at ``level`` for this case."""
    return {
        CaseLevel.GRID: case.territory_code,
        CaseLevel.VILLAGE: case.division_code,
        CaseLevel.TOWNSHIP: case.division_code[:9],
        CaseLevel.COUNTY: case.division_code[:6],
    }[level]


def escalate_case(
    db: Session,
    case: Case,
    *,
    actor: User | None,
    note: str = "",
    automatic: bool = False,
) -> Case:
    """Escalate the case one tier (grid → village → township → county) and tell that office.

    ``automatic`` is the sweep escalating an overdue case (no actor).
    """
    if not automatic:
        note = require_note(note, "a reason for escalating")
    with acting(db, case, actor, "escalate", CaseAction.ESCALATE, trusted=automatic) as step:
        higher = case.level.higher()
        if higher is None:
            raise Conflict(f"case {case.number} is already at the highest tier", level=case.level)
        step.move(
            CaseAction.ESCALATE,
            note=note,
            data={"from_level": str(case.level), "to_level": str(higher), "automatic": automatic},
        )
        old_level, case.level = case.level, higher
        clock = open_clock(case)
        if automatic and clock is not None:
            clock.escalated_at = step.now
        notify.queue(
            db,
            case,
            "escalated",
            recipient_kind="office",
            recipient_ref=office_code(case, higher),
            message=f"案件 {case.number} 由{old_level.label_zh}上报{higher.label_zh}"
            + ("（超时自动升级）" if automatic else ""),
            urgent=automatic,
        )
    return case


def supplement_case(
    db: Session,
    case: Case,
    *,
    actor: User | None,
    note: str,
    images: Sequence[CheckedImage] = (),
    me_too: bool = False,
    trusted: bool = False,
) -> Case:
    """The reporter adds information (补充信息), or another resident has the same problem.

    ``actor`` None with ``trusted`` is the resident portal, after it checked the receipt key
    (or, for ``me_too``, that the case is public). Whoever holds the case is told.
    """
    note = note.strip()[:2000]
    if not note and not images and not me_too:
        raise Invalid("write what you want to add, or add a photo", field="note")
    with acting(db, case, actor, "view", CaseAction.SUPPLEMENT, trusted=trusted) as step:
        ids = [a.id for a in add_photos(step, images, kind=AttachmentKind.BEFORE)]
        step.move(CaseAction.SUPPLEMENT, note=note, data={"me_too": me_too}, attachment_ids=ids)
        what = "又一位居民反映同一问题" if me_too else "上报人补充了信息"
        to_department = case.department_code is not None
        notify.queue(
            db,
            case,
            "supplement",
            recipient_kind="department" if to_department else "office",
            recipient_ref=case.department_code or case.territory_code,
            message=f"案件 {case.number}：{what}" + (f"：{note[:200]}" if note else ""),
        )
    return case
