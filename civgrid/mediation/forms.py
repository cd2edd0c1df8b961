"""Mediation form posts → mediation actions (reads and checks fields; changes nothing itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.care.forms import a_date, choice, field
from civgrid.cases.service import get_case_for
from civgrid.errors import Invalid
from civgrid.mediation import actions
from civgrid.mediation.models import Dispute, DisputeKind
from civgrid.mediation.transitions import Referral, SessionOutcome

PARTY_SLOTS = 4


def _user(db: Session, form: Any, name: str) -> User | None:
    ref = field(form, name)
    if not ref:
        return None
    user = db.scalar(select(User).where(User.username == ref, User.is_active.is_(True)))
    if user is None:
        raise Invalid(f"{name}: no user {ref}", field=name)
    return user


def create(db: Session, user: User, form: Any) -> Dispute:
    case_number = field(form, "case")
    parties = [
        actions.Party(field(form, f"party{i}_name"), field(form, f"party{i}_contact"))
        for i in range(1, PARTY_SLOTS + 1)
    ]
    return actions.create_dispute(
        db,
        actor=user,
        kind=choice(DisputeKind, form, "kind"),
        summary=field(form, "summary"),
        parties=parties,
        territory_code=field(form, "territory"),
        case=get_case_for(db, user, case_number) if case_number else None,
        mediator=_user(db, form, "mediator"),
    )


def act(db: Session, user: User, dispute_id: int, name: str, form: Any) -> None:
    """Run the named action with the form's fields."""
    if name == "session":
        actions.hold_session(
            db,
            dispute_id,
            actor=user,
            held_on=a_date(form, "held_on"),
            place=field(form, "place"),
            outcome=choice(SessionOutcome, form, "outcome"),
            attendees=field(form, "attendees"),
            notes=field(form, "notes"),
            terms=field(form, "terms"),
        )
    elif name == "escalate":
        actions.escalate_dispute(
            db,
            dispute_id,
            actor=user,
            reason=field(form, "reason"),
            mediator=_user(db, form, "mediator"),
        )
    elif name == "refer":
        actions.refer_dispute(
            db,
            dispute_id,
            actor=user,
            to=choice(Referral, form, "to"),
            reason=field(form, "reason"),
        )
    elif name == "follow_up":
        actions.follow_up(
            db,
            dispute_id,
            actor=user,
            carried_out=field(form, "carried_out") == "yes",
            note=field(form, "note"),
        )
    else:
        raise Invalid(f"unknown action {name}")
