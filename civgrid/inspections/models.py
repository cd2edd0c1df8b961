"""Checklist templates (检查表), inspection plans and records; failed items link to their cases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.calendar.units import TimeUnit
from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow
from civgrid.ledger.models import LedgerKind


class ItemResult(LabelledEnum):
    PASS = ("pass", "合格", "Pass", "green")
    FAIL = ("fail", "不合格", "Fail", "red")
    NOT_APPLICABLE = ("na", "不适用", "Not applicable", "grey")


class ChecklistTemplate(Base):
    """A checklist for one service item (fire safety, food and drug …), edited by admins."""

    __tablename__ = "checklist_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150), default="")
    service_item: Mapped[str] = mapped_column(String(8))  # grid service major class, e.g. G02
    target_kind: Mapped[LedgerKind] = mapped_column(EnumText(LedgerKind, 20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        cascade="all, delete-orphan", order_by="ChecklistItem.position", lazy="selectin"
    )

    def name(self, locale: str = "zh_CN") -> str:
        return self.name_en or self.name_zh if locale.startswith("en") else self.name_zh


class ChecklistItem(Base):
    """One check: what passes, and for a failure the category and time limit of its case."""

    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("template_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_templates.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    text_zh: Mapped[str] = mapped_column(String(200))
    text_en: Mapped[str] = mapped_column(String(300), default="")
    pass_rule_zh: Mapped[str] = mapped_column(String(300), default="")
    pass_rule_en: Mapped[str] = mapped_column(String(400), default="")
    category_code: Mapped[str] = mapped_column(String(16))
    limit_amount: Mapped[float] = mapped_column(Float)
    limit_unit: Mapped[TimeUnit] = mapped_column(EnumText(TimeUnit, 20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def text(self, locale: str = "zh_CN") -> str:
        return self.text_en or self.text_zh if locale.startswith("en") else self.text_zh


class InspectionPlan(Base):
    """Which places get which checklist how often, inside a territory (grid or division code)."""

    __tablename__ = "inspection_plans"
    __table_args__ = (CheckConstraint("every_days > 0", name="every_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"))
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    # Which records of the template's kind: a unit kind, a component class prefix, "rental" …
    selector: Mapped[str] = mapped_column(String(40), default="")
    every_days: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    template: Mapped[ChecklistTemplate] = relationship(lazy="joined")


class InspectionRecord(Base):
    """One inspection of one place: who, when, where, and its per-item results."""

    __tablename__ = "inspection_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set by the field app's draft, so a draft sent twice is stored once.
    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_plans.id"), nullable=True)
    target_kind: Mapped[LedgerKind] = mapped_column(EnumText(LedgerKind, 20))
    target_id: Mapped[int] = mapped_column(Integer)
    grid_code: Mapped[str] = mapped_column(String(16), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    failed: Mapped[int] = mapped_column(Integer, default=0)  # number of failed items
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    results: Mapped[list[InspectionResult]] = relationship(
        cascade="all, delete-orphan", order_by="InspectionResult.item_id", lazy="selectin"
    )
    photos: Mapped[list[InspectionPhoto]] = relationship(
        cascade="all, delete-orphan", order_by="InspectionPhoto.id", lazy="selectin"
    )

    @property
    def territory_code(self) -> str:
        return self.grid_code


class InspectionResult(Base):
    """One item's result in a record; a failure carries the case it opened."""

    __tablename__ = "inspection_results"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_records.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"), primary_key=True)
    result: Mapped[ItemResult] = mapped_column(EnumText(ItemResult, 8))
    note: Mapped[str] = mapped_column(String(1000), default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)


class InspectionPhoto(Base):
    """A photo taken for one item of a record, stored by content hash like a case attachment
    (:mod:`civgrid.cases.attachments`: checked, EXIF-free copies, thumbnail). A photo of a failed
    item is also its case's attachment (``case_attachment_id``), the same file."""

    __tablename__ = "inspection_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_records.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200), default="")
    case_attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_attachments.id"), nullable=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
