"""Every change to a dispute: create, session, escalate, refer, agree, withdraw, follow up.

Each action locks the dispute, checks role, jurisdiction and tier, asks the transitions
table, appends a :class:`DisputeEvent` (ids, states, tiers and a masked note only) and
commits once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.care.actions import document_type, text
from civgrid.care.service import local_today
from civgrid.cases.models import Case
from civgrid.cases.newcase import next_in_sequence
from civgrid.cases.public import mask_personal
from civgrid.cases.service import authorize
from civgrid.db.base import utcnow
from civgrid.errors import Forbidden, Invalid, NotFound
from civgrid.mediation.models import (
    Dispute,
    DisputeEvent,
    DisputeKind,
    DisputeParty,
    MediationAgreement,
    MediationSession,
)
from civgrid.mediation.service import TIER_ROLES
from civgrid.mediation.transitions import (
    DisputeAction,
    DisputeState,
    Referral,
    SessionOutcome,
    Tier,
    target,
)

A = DisputeAction
MAX_PARTIES = 10


@dataclass(frozen=True)
class Party:
    """A party who brought the dispute: a name and a contact only."""

    name: str
    contact: str = ""


def _deadline(db: Session, tier: Tier, now: datetime) -> datetime | None:
    limit = tier.limit
    return get_calendar(db).deadline(now, *limit) if limit else None


def _check_mediator(user: User, tier: Tier, territory: str) -> None:
    if user.role not in TIER_ROLES[tier]:
        raise Forbidden(
            f"the {tier.value} tier ({tier.label_zh}) is mediated by "
            f"{', '.join(sorted(r.value for r in TIER_ROLES[tier]))}, not {user.role.value}",
            tier=str(tier),
        )
    if not scope.Jurisdiction.of(user).covers_code(territory):
        raise NotFound(f"territory {territory} not found")


def _event(
    db: Session,
    dispute: Dispute,
    actor: User,
    action: DisputeAction,
    *,
    from_state: DisputeState | None,
    from_tier: Tier | None,
    note: str = "",
    data: dict[str, object] | None = None,
) -> None:
    db.add(
        DisputeEvent(
            dispute_id=dispute.id,
            at=utcnow(),
            actor_id=actor.id,
            action=action,
            from_state=from_state,
            to_state=dispute.state,
            from_tier=from_tier,
            to_tier=dispute.tier,
            note=mask_personal(note),
            data=data or {},
        )
    )


def _number(db: Session, territory: str, now: datetime) -> str:
    """``TJ<township><year><n>``, n from a counter row: concurrent disputes never share one."""
    prefix = f"TJ{territory[:9]}{now.year}"
    return f"{prefix}{next_in_sequence(db, prefix):04d}"


def create_dispute(
    db: Session,
    *,
    actor: User,
    kind: DisputeKind,
    summary: str,
    parties: Sequence[Party],
    territory_code: str = "",
    case: Case | None = None,
    mediator: User | None = None,
    tier: Tier = Tier.GRID,
) -> Dispute:
    """Register a dispute for mediation, from a case or directly at the mediation desk."""
    scope.check_role(actor, Dispute, "create")
    kind, tier = DisputeKind(kind), Tier(tier)
    if tier == Tier.JUDICIAL:
        raise Invalid("a dispute starts at a mediation tier", field="tier")
    if case is not None:
        authorize(db, actor, case, "view")
        territory_code = case.territory_code
        summary = summary or case.description
    summary = text(summary, "summary", limit=4000)
    checked = [
        Party(text(p.name, "name", limit=50), text(p.contact, "contact", limit=60, required=False))
        for p in parties
        if (p.name or "").strip() or (p.contact or "").strip()
    ]
    if not checked:
        raise Invalid("a dispute needs at least one party", field="parties")
    if len(checked) > MAX_PARTIES:
        raise Invalid(f"at most {MAX_PARTIES} parties", field="parties")
    territory_code = text(territory_code, "territory", limit=16)
    if not scope.Jurisdiction.of(actor).covers_code(territory_code):
        raise NotFound(f"territory {territory_code} not found")
    mediator = mediator or actor
    _check_mediator(mediator, tier, territory_code)
    now = utcnow()
    dispute = Dispute(
        number=_number(db, territory_code, now),
        kind=kind,
        state=DisputeState.MEDIATING,
        tier=tier,
        territory_code=territory_code,
        case_id=case.id if case else None,
        summary=summary,
        mediator_id=mediator.id,
        tier_started_at=now,
        tier_due_at=_deadline(db, tier, now),
        created_at=now,
        parties=[DisputeParty(name=p.name, contact=p.contact) for p in checked],
    )
    db.add(dispute)
    db.flush()
    _event(
        db,
        dispute,
        actor,
        A.CREATE,
        from_state=None,
        from_tier=None,
        data={"case": case.number if case else None},
    )
    db.commit()
    return dispute


@contextmanager
def _acting(db: Session, actor: User, dispute_id: int, action: DisputeAction) -> Iterator[Dispute]:
    """Lock the dispute, check role, scope and tier, run the body, append the event, commit."""
    dispute = scope.get_for(db, actor, Dispute, dispute_id, "mediate")
    db.refresh(dispute, with_for_update=True)
    target(action, dispute.state, dispute.tier)
    if action != A.ATTACH:
        _check_mediator(actor, dispute.tier, dispute.territory_code)
    try:
        yield dispute
        db.commit()
    except BaseException:
        db.rollback()
        raise


def hold_session(
    db: Session,
    dispute_id: int,
    *,
    actor: User,
    held_on: date,
    place: str,
    outcome: SessionOutcome,
    attendees: str = "",
    notes: str = "",
    terms: str = "",
) -> MediationSession:
    """Record a mediation session; its outcome may settle the dispute or end it."""
    outcome = SessionOutcome(outcome)
    place = text(place, "place", limit=200)
    attendees = text(attendees, "attendees", limit=500, required=False)
    notes = text(notes, "notes", limit=4000, required=False)
    if held_on > local_today():
        raise Invalid("a session cannot be in the future", field="held_on")
    if outcome == SessionOutcome.AGREEMENT:
        terms = text(terms, "terms", limit=4000)
    follow = {SessionOutcome.AGREEMENT: A.AGREE, SessionOutcome.WITHDRAWAL: A.WITHDRAW}.get(outcome)
    with _acting(db, actor, dispute_id, follow or A.SESSION) as dispute:
        session = MediationSession(
            dispute_id=dispute.id,
            tier=dispute.tier,
            held_on=held_on,
            place=place,
            mediator_id=actor.id,
            attendees=attendees,
            notes=notes,
            outcome=outcome,
        )
        db.add(session)
        db.flush()
        before = dispute.state
        _event(
            db,
            dispute,
            actor,
            A.SESSION,
            from_state=before,
            from_tier=dispute.tier,
            data={"session": session.id, "outcome": outcome.value},
        )
        if follow is not None:
            dispute.state = target(follow, before, dispute.tier)
            dispute.closed_at = utcnow()
            if follow == A.AGREE:
                dispute.agreed_at = dispute.closed_at
                db.add(MediationAgreement(dispute_id=dispute.id, terms=terms, agreed_on=held_on))
            _event(db, dispute, actor, follow, from_state=before, from_tier=dispute.tier)
    return session


def escalate_dispute(
    db: Session, dispute_id: int, *, actor: User, reason: str, mediator: User | None = None
) -> Dispute:
    """Move the dispute up one tier (提交上一级调解), with a reason and a new time limit."""
    reason = text(reason, "reason", limit=1000)
    with _acting(db, actor, dispute_id, A.ESCALATE) as dispute:
        before = dispute.tier
        higher = before.higher()
        if higher is None:  # pragma: no cover  (the table allows escalation below the township)
            raise Invalid("no higher tier", field="tier")
        if mediator is None and actor.role in TIER_ROLES[higher]:
            mediator = actor
        if mediator is None:
            raise Invalid(f"choose the mediator at the {higher.value} tier", field="mediator")
        _check_mediator(mediator, higher, dispute.territory_code)
        now = utcnow()
        dispute.tier, dispute.mediator_id = higher, mediator.id
        dispute.tier_started_at, dispute.tier_due_at = now, _deadline(db, higher, now)
        _event(
            db,
            dispute,
            actor,
            A.ESCALATE,
            from_state=dispute.state,
            from_tier=before,
            note=reason,
            data={"mediator": mediator.id},
        )
    return dispute


def refer_dispute(
    db: Session, dispute_id: int, *, actor: User, to: Referral, reason: str
) -> Dispute:
    """Refer a dispute the township center could not settle to the judicial route."""
    reason = text(reason, "reason", limit=1000)
    to = Referral(to)
    with _acting(db, actor, dispute_id, A.REFER) as dispute:
        before, tier = dispute.state, dispute.tier
        dispute.state = target(A.REFER, before, tier)
        dispute.tier, dispute.referral = Tier.JUDICIAL, to
        dispute.tier_started_at, dispute.tier_due_at = utcnow(), None
        dispute.closed_at = dispute.tier_started_at
        _event(
            db,
            dispute,
            actor,
            A.REFER,
            from_state=before,
            from_tier=tier,
            note=reason,
            data={"to": to.value},
        )
    return dispute


def follow_up(
    db: Session, dispute_id: int, *, actor: User, carried_out: bool, note: str = ""
) -> Dispute:
    """Record whether the agreement was carried out (履行回访)."""
    note = text(note, "note", limit=1000, required=False)
    with _acting(db, actor, dispute_id, A.FOLLOW_UP) as dispute:
        before = dispute.state
        dispute.state = DisputeState.FULFILLED if carried_out else DisputeState.UNFULFILLED
        dispute.carried_out, dispute.followed_up_on = carried_out, local_today()
        _event(
            db,
            dispute,
            actor,
            A.FOLLOW_UP,
            from_state=before,
            from_tier=dispute.tier,
            note=note,
            data={"carried_out": carried_out},
        )
    return dispute


def attach_signed_agreement(
    db: Session, dispute_id: int, *, actor: User, filename: str, content: bytes
) -> MediationAgreement:
    """Attach the signed copy of the mediation agreement (PDF, PNG or JPEG)."""
    content_type = document_type(content)
    with _acting(db, actor, dispute_id, A.ATTACH) as dispute:
        agreement = db.get(MediationAgreement, dispute.id)
        if agreement is None:  # pragma: no cover  (an agreed dispute always has one)
            raise NotFound("no agreement")
        agreement.signed_filename = (
            text(filename, "filename", limit=200, required=False) or "signed"
        )
        agreement.signed_content_type = content_type
        agreement.signed_copy = content
        _event(db, dispute, actor, A.ATTACH, from_state=dispute.state, from_tier=dispute.tier)
    return agreement


# 当事人甲, 乙 …: one heavenly stem per party (ten, as many as a dispute may have).
STEMS = "甲乙丙丁戊己庚辛壬癸"
CONTACT_REMOVED = "***"


def placeholder(index: int) -> str:
    """The name that stands for the ``index``-th party (from 0) once the parties are purged."""
    return f"当事人{STEMS[index]}" if index < len(STEMS) else f"当事人{index + 1}"


def pseudonymise_parties(db: Session, dispute: Dispute, *, now: datetime) -> None:
    """Replace the parties by 当事人甲, 乙 … once the dispute's keeping period is over.

    Each party's name becomes its placeholder and the contact is cleared; in the dispute's
    texts (summary, session attendees and notes, agreement terms) the names become the
    placeholders, the contacts ``***``, and ID-card and phone numbers are masked for good. The event
    log is append-only and holds masked notes only. Runs in the caller's transaction (the
    retention purge, ``civgrid.retention``, commits and audits it).
    """
    replacements: dict[str, str] = {}
    for index, party in enumerate(dispute.parties):
        name, contact = party.name.strip(), party.contact.strip()
        # a one-character "name" would rewrite every word it is in
        for value, stands_for in ((name, placeholder(index)), (contact, CONTACT_REMOVED)):
            if len(value) >= 2:
                replacements.setdefault(value, stands_for)
        party.name, party.contact = placeholder(index), ""

    # one pass, longest first: a placeholder is never rewritten again
    found = re.compile("|".join(map(re.escape, sorted(replacements, key=len, reverse=True))))

    def scrub(value: str) -> str:
        if replacements:
            value = found.sub(lambda m: replacements[m.group(0)], value)
        return mask_personal(value)

    dispute.summary = scrub(dispute.summary)
    for session in db.scalars(
        select(MediationSession).where(MediationSession.dispute_id == dispute.id)
    ):
        session.attendees, session.notes = scrub(session.attendees), scrub(session.notes)
    agreement = db.get(MediationAgreement, dispute.id)
    if agreement is not None:
        agreement.terms = scrub(agreement.terms)
    dispute.parties_purged_at = now
