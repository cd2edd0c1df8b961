"""Case API: one POST per workflow action. Thin: scope lookup, then the action function.

Every endpoint answers 409 naming the current state (and the allowed actions) when the
transition table refuses the action, and 422 for bad arguments.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import User
from civgrid.cases import actions, service
from civgrid.cases.models import CaseSummons
from civgrid.cases.routes import detail
from civgrid.cases.schemas import (
    CaseDetail,
    CloseIn,
    DispatchIn,
    EvaluateIn,
    ExtensionIn,
    HandleIn,
    MergeIn,
    NoteIn,
    ReasonIn,
    RegisterIn,
    SelfHandleIn,
    SummonIn,
    VerifyIn,
)
from civgrid.db.session import get_db
from civgrid.errors import NotFound
from civgrid.web.responses import AUTHENTICATED

router = APIRouter(prefix="/api/v1/cases/{number}", tags=["case actions"], responses=AUTHENTICATED)
DB = Annotated[Session, Depends(get_db)]
Actor = Annotated[User, Depends(current_user)]


def _done(db: Session, number: str, user: User, request: Request) -> CaseDetail:
    return detail(db, service.get_case_for(db, user, number), user, client_ip(request))


def post(path: str, summary: str):  # type: ignore[no-untyped-def]
    return router.post(path, response_model=CaseDetail, summary=summary)


@post("/register", "Register (立案)")
def register(number: str, body: RegisterIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.register_case(db, case, actor=user, note=body.note, priority=body.priority)
    return _done(db, number, user, request)


@post("/reject", "Reject (不予立案) with a reason")
def reject(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.reject_case(db, case, actor=user, reason=body.reason)
    return _done(db, number, user, request)


@post("/dispatch", "Dispatch (派遣) to the suggested or a chosen department")
def dispatch(number: str, body: DispatchIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.dispatch_case(db, case, actor=user, department=body.department, note=body.note)
    return _done(db, number, user, request)


@post("/accept", "Accept (接收) by the department")
def accept(number: str, body: NoteIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "handle")
    actions.accept_case(db, case, actor=user, note=body.note)
    return _done(db, number, user, request)


@post("/return", "Return (回退) to the dispatcher")
def return_(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "handle")
    actions.return_case(db, case, actor=user, reason=body.reason)
    return _done(db, number, user, request)


@post("/start", "Start handling (处置)")
def start(number: str, body: NoteIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "handle")
    actions.start_case(db, case, actor=user, note=body.note)
    return _done(db, number, user, request)


@post("/handle", "Report handled, with feedback and photos (处置反馈)")
def handle(number: str, body: HandleIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "handle")
    actions.handle_case(
        db, case, actor=user, feedback=body.feedback, attachment_ids=body.attachment_ids
    )
    return _done(db, number, user, request)


@post("/verify", "Verify on site (核查): pass, or fail into rework (返工)")
def verify(number: str, body: VerifyIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "verify")
    actions.verify_case(
        db,
        case,
        actor=user,
        passed=body.passed,
        note=body.note,
        attachment_ids=body.attachment_ids,
    )
    return _done(db, number, user, request)


@post("/close", "Close (结案) with the public outcome")
def close(number: str, body: CloseIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.close_case(db, case, actor=user, outcome=body.outcome)
    return _done(db, number, user, request)


@post("/evaluate", "Rate (评价) a closed case, 1–5")
def evaluate(number: str, body: EvaluateIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "evaluate")
    actions.evaluate_case(db, case, actor=user, rating=body.rating, comment=body.comment)
    return _done(db, number, user, request)


@post("/self-handle", "Self-handled on the spot by the grid worker (自处置)")
def self_handle(
    number: str, body: SelfHandleIn, request: Request, user: Actor, db: DB
) -> CaseDetail:
    case = service.get_case_for(db, user, number, "self_handle")
    actions.self_handle_case(
        db, case, actor=user, note=body.note, attachment_ids=body.attachment_ids
    )
    return _done(db, number, user, request)


@post("/extension", "Request an extension (申请延期)")
def extension(number: str, body: ExtensionIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "handle")
    actions.request_extension(db, case, actor=user, amount=body.amount, reason=body.reason)
    return _done(db, number, user, request)


@post("/extension/approve", "Approve the pending extension (批准延期)")
def approve(number: str, body: NoteIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.approve_extension(db, case, actor=user, note=body.note)
    return _done(db, number, user, request)


@post("/extension/deny", "Deny the pending extension")
def deny(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.deny_extension(db, case, actor=user, reason=body.reason)
    return _done(db, number, user, request)


@post("/suspend", "Suspend (挂账) a long-term matter")
def suspend(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.suspend_case(db, case, actor=user, reason=body.reason)
    return _done(db, number, user, request)


@post("/resume", "Resume a suspended case")
def resume(number: str, body: NoteIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.resume_case(db, case, actor=user, note=body.note)
    return _done(db, number, user, request)


@post("/void", "Void (作废)")
def void(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.void_case(db, case, actor=user, reason=body.reason)
    return _done(db, number, user, request)


@post("/merge", "Merge as a duplicate into another case")
def merge(number: str, body: MergeIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    into = service.get_case_for(db, user, body.into, "dispatch")
    actions.merge_case(db, case, into=into, actor=user, note=body.note)
    return _done(db, number, user, request)


@post("/reopen", "Reopen a closed or rejected case")
def reopen(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.reopen_case(db, case, actor=user, reason=body.reason)
    return _done(db, number, user, request)


@post("/escalate", "Escalate one tier (grid → village → township → county)")
def escalate(number: str, body: ReasonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "escalate")
    actions.escalate_case(db, case, actor=user, note=body.reason)
    return _done(db, number, user, request)


@post("/summons", "Summon departments (吹哨报到)")
def summon(number: str, body: SummonIn, request: Request, user: Actor, db: DB) -> CaseDetail:
    case = service.get_case_for(db, user, number, "dispatch")
    actions.summon_departments(db, case, actor=user, departments=body.departments, note=body.note)
    return _done(db, number, user, request)


@post("/summons/{summons_id}/ack", "Acknowledge a summons (报到)")
def acknowledge(
    number: str, summons_id: int, body: NoteIn, request: Request, user: Actor, db: DB
) -> CaseDetail:
    case = service.get_case_for(db, user, number, "acknowledge")
    summons = db.scalar(
        select(CaseSummons).where(CaseSummons.id == summons_id, CaseSummons.case_id == case.id)
    )
    if summons is None:
        raise NotFound(f"summons {summons_id} not found")
    actions.acknowledge_summons(db, summons, actor=user, note=body.note)
    return _done(db, number, user, request)
