"""Disputes, their parties, sessions, agreement and append-only event log.

Parties' names and contacts, the summary and session notes are personal: they live in
ordinary rows. The event log holds ids, states, tiers and a masked reason only.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow
from civgrid.mediation.transitions import (
    DisputeAction,
    DisputeState,
    Referral,
    SessionOutcome,
    Tier,
)


class DisputeKind(LabelledEnum):
    NEIGHBOUR = ("neighbour", "邻里纠纷", "Neighbour dispute")
    FAMILY = ("family", "婚姻家庭纠纷", "Family dispute")
    PROPERTY = ("property", "物业纠纷", "Property management dispute")
    LABOUR = ("labour_wages", "劳动工资纠纷", "Labour and wages dispute")
    LAND = ("land", "土地纠纷", "Land dispute")
    CONSUMER = ("consumer", "消费纠纷", "Consumer dispute")
    OTHER = ("other", "其他纠纷", "Other dispute")


class Dispute(Base):
    """A dispute brought for mediation (矛盾纠纷), from a case or at the mediation desk."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[DisputeKind] = mapped_column(EnumText(DisputeKind, 20), index=True)
    state: Mapped[DisputeState] = mapped_column(EnumText(DisputeState, 20), index=True)
    tier: Mapped[Tier] = mapped_column(EnumText(Tier, 20), index=True)
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tier_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tier_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    referral: Mapped[Referral | None] = mapped_column(EnumText(Referral, 20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    carried_out: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    followed_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # When the retention purge replaced the parties by placeholders (civgrid.retention).
    parties_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __mapper_args__ = {"version_id_col": version}

    parties: Mapped[list[DisputeParty]] = relationship(
        cascade="all, delete-orphan", order_by="DisputeParty.id", lazy="selectin"
    )


class DisputeParty(Base):
    """A party who brought the dispute: a name and a contact, nothing else."""

    __tablename__ = "dispute_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(
        ForeignKey("disputes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    contact: Mapped[str] = mapped_column(String(60), default="")


class MediationSession(Base):
    """One mediation session (调解): when, where, who mediated, who attended, how it ended."""

    __tablename__ = "mediation_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    tier: Mapped[Tier] = mapped_column(EnumText(Tier, 20))
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    attendees: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[SessionOutcome] = mapped_column(EnumText(SessionOutcome, 20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediationAgreement(Base):
    """The terms agreed (调解协议书) and, once uploaded, the signed copy."""

    __tablename__ = "mediation_agreements"

    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), primary_key=True)
    terms: Mapped[str] = mapped_column(Text)
    agreed_on: Mapped[date] = mapped_column(Date)
    signed_filename: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signed_content_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    signed_copy: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class DisputeEvent(Base):
    """One step of a dispute (append-only): ids, states, tiers and a masked note only."""

    __tablename__ = "dispute_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[DisputeAction] = mapped_column(EnumText(DisputeAction, 20))
    from_state: Mapped[DisputeState | None] = mapped_column(
        EnumText(DisputeState, 20), nullable=True
    )
    to_state: Mapped[DisputeState] = mapped_column(EnumText(DisputeState, 20))
    from_tier: Mapped[Tier | None] = mapped_column(EnumText(Tier, 20), nullable=True)
    to_tier: Mapped[Tier] = mapped_column(EnumText(Tier, 20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
