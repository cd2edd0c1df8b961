"""The machinery every case action shares: lock, check, move, clock, event, commit.

Action functions (``civgrid.cases.actions``) are written as::

    with acting(db, case, actor, "dispatch") as step:
        ...validate arguments...
        step.move(CaseAction.DISPATCH, note=note, data={...})

``acting`` locks the row (``SELECT … FOR UPDATE``; on SQLite, which has no row locks, the
transaction first becomes the database's one writer: ``hold_write_lock``), checks role and
jurisdiction, and commits once at the end, delivering notifications only after the commit.
Any error rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.cases import notify
from civgrid.cases.models import Case, CaseAttachment, CaseClock, CaseEvent
from civgrid.cases.service import authorize
from civgrid.cases.transitions import CaseAction, CaseState, target
from civgrid.catalogue.models import Stage
from civgrid.catalogue.service import time_limit_for
from civgrid.db.base import utcnow
from civgrid.db.session import hold_write_lock
from civgrid.errors import Conflict, Invalid

S = CaseState

# Which stage's clock runs while a case is in a state (no clock: nothing is due).
STAGE_OF: dict[CaseState, Stage] = {
    S.REPORTED: Stage.REGISTER,
    S.REGISTERED: Stage.DISPATCH,
    S.RETURNED: Stage.DISPATCH,
    S.DISPATCHED: Stage.HANDLE,
    S.ACCEPTED: Stage.HANDLE,
    S.HANDLING: Stage.HANDLE,
    S.REWORK: Stage.HANDLE,
    S.HANDLED: Stage.VERIFY,
    S.VERIFIED: Stage.CLOSE,
}

# Per-state timestamp columns, set when the case enters the state.
STAMP_OF: dict[CaseState, str] = {
    S.REGISTERED: "registered_at",
    S.DISPATCHED: "dispatched_at",
    S.ACCEPTED: "accepted_at",
    S.HANDLED: "handled_at",
    S.VERIFIED: "verified_at",
    S.CLOSED: "closed_at",
    S.EVALUATED: "evaluated_at",
}


def actor_label(actor: User | None) -> str:
    return actor.username if actor is not None else "system"


def new_clock(db: Session, category_id: int, stage: Stage, now: datetime) -> CaseClock:
    """A clock for the stage, started ``now``: its time limit and deadline on the calendar."""
    with db.no_autoflush:  # lookups only; the caller's pending rows flush once, at commit
        amount, unit = time_limit_for(db, category_id, stage)
        calendar = get_calendar(db)
        due = calendar.deadline(now, amount, unit)
        yellow = calendar.turns_yellow(now, due, unit)
    return CaseClock(
        stage=stage, amount=amount, unit=unit, started_at=now, due_at=due, yellow_at=yellow
    )


def show_clock(case: Case, clock: CaseClock) -> None:
    """The case shows its running clock: stage, since when, due when, in which unit."""
    case.stage, case.stage_started_at = clock.stage, clock.started_at
    case.due_at, case.due_unit = clock.due_at, clock.unit
    case.yellow_at = clock.yellow_at


def start_clock(db: Session, case: Case, stage: Stage, now: datetime) -> CaseClock:
    """Start the stage's time limit on the working calendar and show it on the case."""
    clock = new_clock(db, case.category_id, stage, now)
    case.clocks.append(clock)  # the relationship sets case_id at flush
    show_clock(case, clock)
    return clock


def open_clock(case: Case) -> CaseClock | None:
    return next((c for c in reversed(case.clocks) if c.finished_at is None), None)


def _stop_clock(case: Case, now: datetime) -> None:
    clock = open_clock(case)
    if clock is not None:
        clock.finished_at = now
    case.stage = case.stage_started_at = case.due_at = case.due_unit = case.yellow_at = None


@dataclass
class Step:
    """One action in progress on one locked case."""

    db: Session
    case: Case
    actor: User | None
    now: datetime = field(default_factory=utcnow)
    events: list[CaseEvent] = field(default_factory=list)

    def move(
        self,
        action: CaseAction,
        *,
        note: str = "",
        data: dict[str, Any] | None = None,
        attachment_ids: Sequence[int] = (),
    ) -> CaseEvent:
        """Apply ``action`` per the transition table and append its event."""
        case = self.case
        old = case.state
        new = target(action, old, case.state_before_suspension)
        if new != old:
            if new == S.SUSPENDED:
                case.state_before_suspension = old
            elif old == S.SUSPENDED:
                case.state_before_suspension = None
            case.state = new
            stamp = STAMP_OF.get(new)
            if stamp:
                setattr(case, stamp, self.now)
            restart = STAGE_OF.get(new) != STAGE_OF.get(old) or new == S.REWORK
            if restart or old == S.SUSPENDED:
                _stop_clock(case, self.now)
                if new in STAGE_OF:
                    start_clock(self.db, case, STAGE_OF[new], self.now)
        case.updated_at = self.now
        event = CaseEvent(
            case=case,
            at=self.now,
            actor_id=self.actor.id if self.actor else None,
            actor_label=actor_label(self.actor),
            action=action,
            from_state=old,
            to_state=new,
            note=note,
            data=data or {},
            attachment_ids=list(attachment_ids),
        )
        self.db.add(event)
        self.events.append(event)
        return event

    def attachments(self, ids: Sequence[int]) -> list[int]:
        """Check that the attachment ids belong to this case (422 otherwise)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        found = set(
            self.db.scalars(
                select(CaseAttachment.id).where(
                    CaseAttachment.case_id == self.case.id, CaseAttachment.id.in_(ids)
                )
            )
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise Invalid("attachments do not belong to this case", attachment_ids=missing)
        return ids


def lock(db: Session, case: Case) -> Case:
    """Reload the case under a row lock so that concurrent actions queue, then re-check."""
    hold_write_lock(db)
    db.refresh(case, with_for_update=True)
    return case


@contextmanager
def acting(
    db: Session,
    case: Case,
    actor: User | None,
    permission: str,
    action: CaseAction | None = None,
    *,
    trusted: bool = False,
) -> Iterator[Step]:
    """Lock, authorise, run the body, commit once; roll back on any error.

    ``trusted`` with no actor is for callers that did their own check (the sweep, the
    resident portal after verifying the reporter); an actor is always checked.
    """
    try:
        lock(db, case)
        if actor is not None or not trusted:
            authorize(db, actor, case, permission)
        if action is not None:  # the state is checked before the arguments: 409 beats 422
            target(action, case.state, case.state_before_suspension)
        step = Step(db, case, actor)
        yield step
        db.flush()
    except StaleDataError:
        notify.discard(db)
        raise Conflict("the case was changed by someone else at the same moment; reload") from None
    except BaseException:
        notify.discard(db)
        raise
    notify.commit(db)


def require_note(note: str, what: str) -> str:
    note = (note or "").strip()
    if not note:
        raise Invalid(f"{what} is required")
    return note


def require_state(case: Case, *states: CaseState) -> None:
    if case.state not in states:
        raise Conflict(f"case {case.number} is {case.state.value}", state=str(case.state))
