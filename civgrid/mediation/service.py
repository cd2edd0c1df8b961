"""Mediation queries, the scope rule, what each reader sees of the parties, and the figures.

Who sees a dispute: a grid worker only the disputes they mediate; the grid leader (village
committee) and the township center (dispatcher, duty chief) those in their territory.
Parties are read through :func:`parties_for` (logged). An ID-card number typed into free
text is shown in full only to the dispute's mediator; everyone else sees it masked.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import log_personal_data_read
from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.cases.public import mask_personal
from civgrid.mediation.models import (
    Dispute,
    DisputeEvent,
    DisputeKind,
    MediationAgreement,
    MediationSession,
)
from civgrid.mediation.transitions import GRASSROOTS, DisputeState, Tier

MEDIATOR_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.DISPATCHER, Role.DUTY_CHIEF})
# Who mediates at each tier: an action by anyone else is an action at the wrong tier.
TIER_ROLES: dict[Tier, frozenset[Role]] = {
    Tier.GRID: frozenset({Role.GRID_WORKER, Role.GRID_LEADER}),
    Tier.VILLAGE: frozenset({Role.GRID_LEADER}),
    Tier.TOWNSHIP: frozenset({Role.DISPATCHER, Role.DUTY_CHIEF}),
    Tier.JUDICIAL: frozenset({Role.DISPATCHER, Role.DUTY_CHIEF}),
}
CONCLUDED = (
    DisputeState.AGREED,
    DisputeState.FULFILLED,
    DisputeState.UNFULFILLED,
    DisputeState.WITHDRAWN,
    DisputeState.REFERRED,
)
AGREED = (DisputeState.AGREED, DisputeState.FULFILLED, DisputeState.UNFULFILLED)


def _dispute_condition(j: scope.Jurisdiction) -> ColumnElement[bool]:
    if j.role == Role.GRID_WORKER:
        return Dispute.mediator_id == j.user_id
    return scope.by_code_prefix(Dispute.territory_code)(j)


scope.register(
    Dispute,
    roles={"view": MEDIATOR_ROLES, "mediate": MEDIATOR_ROLES, "create": MEDIATOR_ROLES},
    condition=_dispute_condition,
)


def get_dispute_for(db: Session, user: User | None, dispute_id: int) -> Dispute:
    """One dispute the user may see, or 401/403/404."""
    return scope.get_for(db, user, Dispute, dispute_id, "view")


def disputes_for(db: Session, user: User, *, limit: int = 200) -> Sequence[Dispute]:
    """The disputes the user may see, open ones and the oldest deadline first (no parties)."""
    query = select(Dispute).order_by(
        (Dispute.state != DisputeState.MEDIATING), Dispute.tier_due_at, Dispute.id
    )
    return db.scalars(scope.restrict(query, user, "view").limit(limit)).all()


def shown(user: User, dispute: Dispute, value: str) -> str:
    """Free text as ``user`` may see it: in full for the mediator, masked for anyone else."""
    return value if user.id == dispute.mediator_id else mask_personal(value)


@dataclass(frozen=True)
class PartyView:
    name: str
    contact: str


def parties_for(db: Session, user: User, dispute: Dispute, *, purpose: str) -> list[PartyView]:
    """The parties' names and contacts as ``user`` may see them; the read is logged."""
    log_personal_data_read(
        db,
        actor=user,
        subject_type="dispute_party",
        subject_ids=[p.id for p in dispute.parties],
        fields=["name", "contact"],
        purpose=purpose,
    )
    db.commit()
    return [
        PartyView(shown(user, dispute, p.name), shown(user, dispute, p.contact))
        for p in dispute.parties
    ]


def sessions_of(db: Session, dispute: Dispute) -> Sequence[MediationSession]:
    query = select(MediationSession).where(MediationSession.dispute_id == dispute.id)
    return db.scalars(query.order_by(MediationSession.held_on, MediationSession.id)).all()


def events_of(db: Session, dispute: Dispute) -> Sequence[DisputeEvent]:
    query = select(DisputeEvent).where(DisputeEvent.dispute_id == dispute.id)
    return db.scalars(query.order_by(DisputeEvent.id)).all()


def agreement_of(db: Session, dispute: Dispute) -> MediationAgreement | None:
    return db.get(MediationAgreement, dispute.id)


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Mediation figures for the disputes a user may see (no personal data)."""

    by_kind_and_tier: dict[tuple[DisputeKind, Tier], int]
    total: int
    concluded: int
    agreed: int
    agreed_grassroots: int
    referred: int
    days_to_agreement: float | None  # median

    @property
    def success_rate(self) -> float | None:
        """调解成功率: agreements among disputes whose mediation has ended."""
        return self.agreed / self.concluded if self.concluded else None

    @property
    def grassroots_rate(self) -> float | None:
        """基层化解率: disputes settled at the grid or village tier among those ended."""
        return self.agreed_grassroots / self.concluded if self.concluded else None


def figures(
    db: Session, user: User, *, since: datetime | None = None, until: datetime | None = None
) -> Figures:
    """Disputes by kind and tier, 调解成功率, 基层化解率 and the median days to agreement."""
    query = select(Dispute.kind, Dispute.tier, Dispute.state, Dispute.created_at, Dispute.agreed_at)
    if since is not None:
        query = query.where(Dispute.created_at >= since)
    if until is not None:
        query = query.where(Dispute.created_at < until)
    restricted = scope.restrict(cast("Select[Any]", query), user, "view", Dispute)
    rows: Sequence[Any] = db.execute(restricted).all()
    by: dict[tuple[DisputeKind, Tier], int] = {}
    for kind, tier, *_ in rows:
        by[(kind, tier)] = by.get((kind, tier), 0) + 1
    agreed = [r for r in rows if r.state in AGREED]
    days = [(r.agreed_at - r.created_at).total_seconds() / 86400 for r in agreed if r.agreed_at]
    return Figures(
        by_kind_and_tier=by,
        total=len(rows),
        concluded=sum(1 for r in rows if r.state in CONCLUDED),
        agreed=len(agreed),
        agreed_grassroots=sum(1 for r in agreed if r.tier in GRASSROOTS),
        referred=sum(1 for r in rows if r.state == DisputeState.REFERRED),
        days_to_agreement=round(statistics.median(days), 1) if days else None,
    )


def count_by_state(db: Session, user: User) -> dict[DisputeState, int]:
    query = cast("Select[Any]", select(Dispute.state, func.count()).group_by(Dispute.state))
    rows: Sequence[Any] = db.execute(scope.restrict(query, user, "view", Dispute)).all()
    return {s: n for s, n in rows}


def eligible_mediators(db: Session, tier: Tier, territory: str) -> list[User]:
    """Active staff who may mediate at ``tier`` in ``territory`` (for the escalation form)."""
    roles = TIER_ROLES.get(tier, frozenset())
    users = db.scalars(
        select(User).where(User.role.in_(roles), User.is_active.is_(True)).order_by(User.username)
    ).all()
    return [u for u in users if scope.Jurisdiction.of(u).covers_code(territory)]
