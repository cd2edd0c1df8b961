"""Case notifications: an outbox written inside the action, handed to hooks only after commit.

Actions call :func:`queue` (a row in ``case_notifications`` in the same transaction) and
:func:`commit` instead of ``db.commit()``; hooks registered with :func:`on_notification`
(e-mail, SMS, a message bus …) then see only notifications whose transaction committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from civgrid.cases.models import Case, CaseNotification
from civgrid.errors import Conflict

log = logging.getLogger(__name__)
Hook = Callable[[CaseNotification], None]
_HOOKS: list[Hook] = []
_PENDING = "civgrid.cases.outbox"


def on_notification(hook: Hook) -> Hook:
    """Register a hook called with each notification after its transaction committed."""
    _HOOKS.append(hook)
    return hook


def remove_hook(hook: Hook) -> None:
    _HOOKS.remove(hook)


def queue(
    db: Session,
    case: Case,
    kind: str,
    *,
    recipient_kind: str,
    recipient_ref: str,
    message: str,
    urgent: bool = False,
) -> CaseNotification:
    """Add a notification to the caller's transaction."""
    row = CaseNotification(
        case=case,
        kind=kind,
        recipient_kind=recipient_kind,
        recipient_ref=recipient_ref,
        message=message,
        urgent=urgent,
    )
    db.add(row)
    db.info.setdefault(_PENDING, []).append(row)
    return row


def commit(db: Session) -> None:
    """Commit the action's transaction, then deliver what it queued (never before)."""
    try:
        db.commit()
    except StaleDataError:
        db.rollback()
        db.info.pop(_PENDING, None)
        raise Conflict("the case was changed by someone else at the same moment; reload") from None
    for row in db.info.pop(_PENDING, []):
        for hook in list(_HOOKS):
            try:
                hook(row)
            except Exception:  # a failing channel must not undo a committed action
                log.exception("notification hook failed for notification %s", row.id)


def discard(db: Session) -> None:
    """Roll back the action and forget its queued notifications."""
    db.rollback()
    db.info.pop(_PENDING, None)


def tell_reporter(db: Session, case: Case, message: str) -> None:
    """Queue a message to the case's reporter, if the case has one to reach."""
    if case.reporter_user_id or case.reporter_phone or case.reporter_email:
        queue(
            db,
            case,
            "outcome",
            recipient_kind="reporter",
            recipient_ref=case.number,
            message=message,
        )


def tell_reporters(db: Session, case: Case, message: str) -> None:
    """The reporter and the reporters of every case merged into this one (both stay informed)."""
    tell_reporter(db, case, message)
    for merged in db.scalars(select(Case).where(Case.merged_into_id == case.id)):
        tell_reporter(db, merged, message)
