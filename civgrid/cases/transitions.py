"""The one table of case states and the actions allowed between them (the closed loop).

Every action function in ``civgrid.cases.actions`` asks :func:`target` before it changes a
case, and :func:`replay` folds a case's event log through the same table, so the table is the
only place that decides what may happen next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from civgrid.choices import LabelledEnum
from civgrid.errors import Conflict


class CaseState(LabelledEnum):
    """Where a case stands. The group (open / closed) feeds the public board and Open311."""

    REPORTED = ("reported", "已上报", "Reported", "grey", "open")
    REGISTERED = ("registered", "已立案", "Registered", "blue", "open")
    REJECTED = ("rejected", "不予立案", "Rejected", "dark", "closed")
    DISPATCHED = ("dispatched", "已派遣", "Dispatched", "indigo", "open")
    ACCEPTED = ("accepted", "已接收", "Accepted", "cyan", "open")
    RETURNED = ("returned", "已回退", "Returned", "orange", "open")
    HANDLING = ("handling", "处置中", "Handling", "teal", "open")
    HANDLED = ("handled", "已处置", "Handled", "green", "open")
    VERIFIED = ("verified", "已核查", "Verified", "green", "open")
    REWORK = ("rework", "返工", "Rework", "red", "open")
    CLOSED = ("closed", "已结案", "Closed", "green", "closed")
    EVALUATED = ("evaluated", "已评价", "Evaluated", "green", "closed")
    SUSPENDED = ("suspended", "挂账", "Suspended", "yellow", "open")
    VOIDED = ("voided", "已作废", "Voided", "dark", "closed")
    MERGED = ("merged", "已合并", "Merged as duplicate", "dark", "closed")

    @property
    def is_open(self) -> bool:
        return self.group == "open"


class CaseAction(LabelledEnum):
    """What can be done to a case; each value names one action function's event."""

    REPORT = ("report", "上报", "Report")
    REGISTER = ("register", "立案", "Register")
    REJECT = ("reject", "不予立案", "Reject")
    DISPATCH = ("dispatch", "派遣", "Dispatch")
    ACCEPT = ("accept", "接收", "Accept")
    RETURN = ("return", "回退", "Return to dispatcher")
    START = ("start", "开始处置", "Start handling")
    HANDLE = ("handle", "处置反馈", "Report handling done")
    VERIFY_PASS = ("verify_pass", "核查通过", "Verification passed")
    VERIFY_FAIL = ("verify_fail", "核查不通过", "Verification failed")
    CLOSE = ("close", "结案", "Close")
    EVALUATE = ("evaluate", "评价", "Evaluate")
    SELF_HANDLE = ("self_handle", "自处置", "Self-handled on the spot")
    REQUEST_EXTENSION = ("request_extension", "申请延期", "Request extension")
    APPROVE_EXTENSION = ("approve_extension", "批准延期", "Approve extension")
    DENY_EXTENSION = ("deny_extension", "驳回延期", "Deny extension")
    SUSPEND = ("suspend", "挂账", "Suspend")
    RESUME = ("resume", "恢复", "Resume")
    VOID = ("void", "作废", "Void")
    MERGE = ("merge", "合并", "Merge as duplicate")
    REOPEN = ("reopen", "重新打开", "Reopen")
    ESCALATE = ("escalate", "上报上级", "Escalate")
    SUMMON = ("summon", "吹哨", "Summon departments")
    ACKNOWLEDGE = ("acknowledge", "报到", "Acknowledge summons")
    ATTACH = ("attach", "上传附件", "Attach photo")
    SUPPLEMENT = ("supplement", "补充信息", "Reporter added information")


S = CaseState
A = CaseAction

# The states in which the department's clock runs; extension and summons apply there.
WORKING = frozenset({S.DISPATCHED, S.ACCEPTED, S.HANDLING, S.REWORK})
ACTIVE = frozenset(s for s in S if s.is_open and s != S.SUSPENDED)
OPEN = frozenset(s for s in S if s.is_open)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[CaseState]
    # None: the action leaves the state as it is; RESUME goes back to the state before 挂账.
    to: CaseState | None


TRANSITIONS: dict[CaseAction, Transition] = {
    A.REGISTER: Transition(frozenset({S.REPORTED}), S.REGISTERED),
    A.REJECT: Transition(frozenset({S.REPORTED}), S.REJECTED),
    A.DISPATCH: Transition(frozenset({S.REGISTERED, S.RETURNED}), S.DISPATCHED),
    A.ACCEPT: Transition(frozenset({S.DISPATCHED}), S.ACCEPTED),
    A.RETURN: Transition(frozenset({S.DISPATCHED, S.ACCEPTED}), S.RETURNED),
    A.START: Transition(frozenset({S.ACCEPTED, S.REWORK}), S.HANDLING),
    A.HANDLE: Transition(frozenset({S.ACCEPTED, S.HANDLING, S.REWORK}), S.HANDLED),
    A.VERIFY_PASS: Transition(frozenset({S.HANDLED}), S.VERIFIED),
    A.VERIFY_FAIL: Transition(frozenset({S.HANDLED}), S.REWORK),
    A.CLOSE: Transition(frozenset({S.VERIFIED}), S.CLOSED),
    A.EVALUATE: Transition(frozenset({S.CLOSED}), S.EVALUATED),
    A.SELF_HANDLE: Transition(frozenset({S.REPORTED}), S.CLOSED),
    A.REQUEST_EXTENSION: Transition(WORKING, None),
    A.APPROVE_EXTENSION: Transition(WORKING, None),
    A.DENY_EXTENSION: Transition(WORKING, None),
    A.SUSPEND: Transition(
        frozenset({S.REGISTERED, S.RETURNED, S.DISPATCHED, S.ACCEPTED, S.HANDLING, S.REWORK}),
        S.SUSPENDED,
    ),
    # RESUME returns to the state the case had before 挂账 (see :func:`target`).
    A.RESUME: Transition(frozenset({S.SUSPENDED}), None),
    A.VOID: Transition(
        frozenset({S.REPORTED, S.REGISTERED, S.RETURNED, S.DISPATCHED, S.SUSPENDED}), S.VOIDED
    ),
    A.MERGE: Transition(frozenset({S.REPORTED, S.REGISTERED}), S.MERGED),
    A.REOPEN: Transition(frozenset({S.CLOSED, S.EVALUATED, S.REJECTED}), S.REGISTERED),
    A.ESCALATE: Transition(ACTIVE, None),
    A.SUMMON: Transition(frozenset({S.REGISTERED, S.RETURNED}) | WORKING, None),
    A.ACKNOWLEDGE: Transition(OPEN, None),
    A.ATTACH: Transition(OPEN | {S.CLOSED}, None),
    # The reporter adds information, or another resident says "the same problem here".
    A.SUPPLEMENT: Transition(OPEN, None),
}


def allowed_actions(state: CaseState) -> list[CaseAction]:
    """The actions the table allows from ``state``, in table order."""
    return [a for a, t in TRANSITIONS.items() if state in t.sources]


def target(
    action: CaseAction, state: CaseState, before_suspension: CaseState | None = None
) -> CaseState:
    """The state ``action`` leads to from ``state``; 409 naming the state when not allowed."""
    rule = TRANSITIONS.get(action)
    if rule is None or state not in rule.sources:
        allowed = [str(a) for a in allowed_actions(state)]
        raise Conflict(
            f"cannot {action.value} a case that is {state.value} ({state.label_zh}); "
            f"allowed: {', '.join(allowed) or 'nothing'}",
            state=str(state),
            allowed_actions=allowed,
        )
    if action == A.RESUME:
        if before_suspension is None:
            raise Conflict("the case has no state to resume to", state=str(state))
        return before_suspension
    return rule.to if rule.to is not None else state


class ReplayError(ValueError):
    """An event log that the transition table could not have produced."""


def replay(events: Iterable[tuple[str, str | None, str]]) -> CaseState:
    """Fold ``(action, from_state, to_state)`` events through the table; the resulting state.

    Raises :class:`ReplayError` when an event does not follow from the one before it.
    """
    state: CaseState | None = None
    before_suspension: CaseState | None = None
    for action_value, from_value, to_value in events:
        action = CaseAction(action_value)
        if state is None:
            if action != A.REPORT or to_value != S.REPORTED:
                raise ReplayError(f"a case log starts with report, not {action_value}")
            state = S.REPORTED
            continue
        if from_value != state:
            raise ReplayError(f"{action_value} recorded from {from_value}, but case was {state}")
        try:
            new = target(action, state, before_suspension)
        except Conflict as exc:
            raise ReplayError(exc.message) from None
        if new != to_value:
            raise ReplayError(f"{action_value} from {state} leads to {new}, log says {to_value}")
        if new == S.SUSPENDED:
            before_suspension = state
        state = new
    if state is None:
        raise ReplayError("empty event log")
    return state
