"""Notices, where they go, and staff read receipts. Residents' reading is never recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class NoticeKind(LabelledEnum):
    POLICY = ("policy", "政策通知", "Policy notice", "blue")
    SERVICE = ("service", "服务通知", "Service notice", "green")


class TargetKind(LabelledEnum):
    VILLAGE = ("village", "村（社区）", "Village")
    GRID = ("grid", "网格", "Grid")
    UNIT = ("unit", "联户单元", "Neighbourhood unit")


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(EnumText(NoticeKind, 20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    targets: Mapped[list[NoticeTarget]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="NoticeTarget.id"
    )


class NoticeTarget(Base):
    """One area a notice goes to: a village or grid code, or a unit (with its grid's code)."""

    __tablename__ = "notice_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TargetKind] = mapped_column(EnumText(TargetKind, 20))
    # The village or grid code (a unit's grid code): what jurisdiction prefixes match.
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhood_units.id"), nullable=True)


class NoticeReceipt(Base):
    """A staff member confirmed reading a notice (only staff: residents are never tracked)."""

    __tablename__ = "notice_receipts"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
