"""Stored division proposals (网格划分方案): inputs, current assignment and result, per village."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class ProposalStatus(LabelledEnum):
    DRAFT = ("draft", "待审定", "Draft", "blue", "open")
    ACCEPTED = ("accepted", "已采纳", "Accepted", "green", "closed")
    DISCARDED = ("discarded", "已放弃", "Discarded", "grey", "closed")


class GridProposal(Base):
    """A proposed division of one village; nudges change it, acceptance files it as grids."""

    __tablename__ = "grid_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    status: Mapped[ProposalStatus] = mapped_column(EnumText(ProposalStatus, 20))
    band_min: Mapped[int] = mapped_column(Integer)
    band_max: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="comprehensive")
    # JSON: boundary, units (id, households, GeoJSON), roads and protected sites used.
    inputs: Mapped[str] = mapped_column(Text)
    # JSON: unit id → grid code of the current revision.
    assignment: Mapped[str] = mapped_column(Text)
    # JSON: grids (GeoJSON features), explanations and the six-check report.
    result: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    @property
    def territory_code(self) -> str:
        return self.village_code
