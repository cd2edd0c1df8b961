"""The main line: dispatch (派遣) → accept / return (回退) → handle → verify → close (结案)
→ evaluate."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases import notify
from civgrid.cases.engine import acting, require_note
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civgrid.cases.service import routing_suggestion
from civgrid.cases.transitions import CaseAction
from civgrid.departments.models import Department
from civgrid.errors import Invalid


def _department(db: Session, department: Department | str) -> Department:
    if isinstance(department, Department):
        return department
    found = db.scalar(select(Department).where(Department.code == department))
    if found is None:
        raise Invalid(f"department {department} does not exist", field="department")
    return found


def dispatch_case(
    db: Session,
    case: Case,
    *,
    actor: User,
    department: Department | str | None = None,
    note: str = "",
) -> Case:
    """Dispatch (派遣) a registered case to a department: the routing suggestion, or an override."""
    with acting(db, case, actor, "dispatch", CaseAction.DISPATCH) as step:
        suggested = routing_suggestion(db, case)
        if department is None and suggested is None:
            raise Invalid("no routing rule suggests a department; choose one", field="department")
        chosen = _department(db, department) if department is not None else suggested
        assert chosen is not None  # noqa: S101  (narrowed above)
        if not chosen.is_active:
            raise Invalid(f"department {chosen.code} is inactive", field="department")
        suggested_code = suggested.code if suggested else None
        step.move(
            CaseAction.DISPATCH,
            note=note,
            data={
                "suggested_department": suggested_code,
                "department": chosen.code,
                "override": suggested_code != chosen.code,
            },
        )
        case.department_code = chosen.code
        notify.queue(
            db,
            case,
            "dispatched",
            recipient_kind="department",
            recipient_ref=chosen.code,
            message=f"新派遣案件 {case.number}",
            urgent=case.priority.value in ("urgent", "emergency"),
        )
    return case


def accept_case(db: Session, case: Case, *, actor: User, note: str = "") -> Case:
    """The department accepts (接收) a dispatched case."""
    with acting(db, case, actor, "handle", CaseAction.ACCEPT) as step:
        step.move(CaseAction.ACCEPT, note=note)
    return case


def return_case(db: Session, case: Case, *, actor: User, reason: str) -> Case:
    """The department returns (回退) a case that is not its matter to the dispatcher."""
    reason = require_note(reason, "a reason for returning")
    with acting(db, case, actor, "handle", CaseAction.RETURN) as step:
        step.move(CaseAction.RETURN, note=reason, data={"department": case.department_code})
    return case


def start_case(db: Session, case: Case, *, actor: User, note: str = "") -> Case:
    """The department starts handling (处置) the case, or its rework."""
    with acting(db, case, actor, "handle", CaseAction.START) as step:
        step.move(CaseAction.START, note=note)
    return case


def handle_case(
    db: Session, case: Case, *, actor: User, feedback: str, attachment_ids: list[int]
) -> Case:
    """The department reports the case handled, with feedback and photos (处置反馈)."""
    feedback = require_note(feedback, "feedback on the handling")
    with acting(db, case, actor, "handle", CaseAction.HANDLE) as step:
        ids = step.attachments(attachment_ids)
        if not ids:
            raise Invalid("handling feedback needs at least one photo", field="attachments")
        step.move(CaseAction.HANDLE, note=feedback, attachment_ids=ids)
        notify.queue(
            db,
            case,
            "verify",
            recipient_kind="office",
            recipient_ref=case.territory_code,
            message=f"案件 {case.number} 已处置，请核查",
        )
    return case


def _label_verification_photos(db: Session, ids: list[int]) -> None:
    """Photos given with a verification are the verifier's (核查), whatever they were sent as."""
    for att in db.scalars(select(CaseAttachment).where(CaseAttachment.id.in_(ids))):
        att.kind = AttachmentKind.VERIFY


def verify_case(
    db: Session,
    case: Case,
    *,
    actor: User,
    passed: bool,
    note: str = "",
    attachment_ids: list[int] | None = None,
) -> Case:
    """The grid worker verifies (核查) on site: pass, or fail and send back for rework (返工)."""
    if not passed:
        note = require_note(note, "what is still wrong (for the rework)")
    action = CaseAction.VERIFY_PASS if passed else CaseAction.VERIFY_FAIL
    with acting(db, case, actor, "verify", action) as step:
        ids = step.attachments(attachment_ids or [])
        _label_verification_photos(db, ids)
        # the role at the time: the public timeline says who checked (网格员, 监督员 …)
        step.move(action, note=note, data={"role": actor.role.value}, attachment_ids=ids)
        if not passed and case.department_code:
            notify.queue(
                db,
                case,
                "rework",
                recipient_kind="department",
                recipient_ref=case.department_code,
                message=f"案件 {case.number} 核查不通过，请返工：{note}",
            )
    return case


def close_case(db: Session, case: Case, *, actor: User, outcome: str) -> Case:
    """Close (结案) a verified case with the outcome published to the reporter and the board."""
    outcome = require_note(outcome, "the public outcome note")
    with acting(db, case, actor, "dispatch", CaseAction.CLOSE) as step:
        step.move(CaseAction.CLOSE, note=outcome)
        case.outcome_note = outcome
        notify.tell_reporters(db, case, f"案件 {case.number} 已办结：{outcome}")
    return case


def evaluate_case(
    db: Session,
    case: Case,
    *,
    actor: User | None,
    rating: int,
    comment: str = "",
    trusted: bool = False,
) -> Case:
    """The reporter rates (评价) a closed case, 1 (bad) to 5 (very satisfied).

    ``actor`` None with ``trusted`` is the resident portal, after it checked the reporter.
    """
    if not 1 <= rating <= 5:
        raise Invalid("rating must be between 1 and 5", field="rating")
    with acting(db, case, actor, "evaluate", CaseAction.EVALUATE, trusted=trusted) as step:
        step.move(CaseAction.EVALUATE, note=comment.strip()[:1000], data={"rating": rating})
        case.rating = rating
    return case
