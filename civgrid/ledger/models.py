"""The places of the grid ledger (台账), each placed in its grid, versioned, retired not deleted.

The ledger counts households; it never names or identifies residents (SPEC "Scope boundary").
A unit keeps a *work* contact (a job title and a work phone), not a person's identity.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow

PHOTO_REF = re.compile(r"^([0-9a-f]{64})\.(jpg|png|webp)$")


class LedgerKind(LabelledEnum):
    ADDRESSES = ("addresses", "标准地址", "Standard addresses", "blue", "place")
    BUILDINGS = ("buildings", "建筑物", "Buildings", "teal", "place")
    DWELLINGS = ("dwellings", "房屋（住户）", "Dwellings", "green", "place")
    UNITS = ("units", "单位", "Units", "orange", "place")
    COMPONENTS = ("components", "城市部件", "Urban components", "purple", "place")


class BuildingUse(LabelledEnum):
    RESIDENTIAL = ("residential", "住宅", "Residential")
    COMMERCIAL = ("commercial", "商业", "Commercial")
    MIXED = ("mixed", "商住混合", "Mixed")
    INDUSTRIAL = ("industrial", "工业", "Industrial")
    PUBLIC = ("public", "公共服务", "Public service")
    OTHER = ("other", "其他", "Other")


class UnitKind(LabelledEnum):
    SHOP = ("shop", "商店", "Shop")
    RESTAURANT = ("restaurant", "餐饮店", "Restaurant")
    WORKSHOP = ("workshop", "小作坊", "Small workshop")
    WAREHOUSE = ("warehouse", "仓库", "Warehouse")
    SCHOOL = ("school", "学校", "School")
    THREE_SMALL = ("three_small", "三小场所", "Small shop, hotel or workshop")
    HOTEL = ("hotel", "旅馆", "Hotel")
    CLINIC = ("clinic", "诊所", "Clinic")
    SITE = ("site", "建筑工地", "Construction site")
    ENTERPRISE = ("enterprise", "企业", "Enterprise")
    OTHER = ("other", "其他", "Other")


class FireStatus(LabelledEnum):
    COMPLIANT = ("compliant", "合格", "Compliant", "green")
    HAZARD = ("hazard", "存在隐患", "Hazard found", "red")
    RECTIFYING = ("rectifying", "整改中", "Being rectified", "orange")
    UNCHECKED = ("unchecked", "未检查", "Not checked", "grey")


class ComponentState(LabelledEnum):
    INTACT = ("intact", "完好", "Intact", "green")
    DAMAGED = ("damaged", "损坏", "Damaged", "orange")
    MISSING = ("missing", "丢失", "Missing", "red")
    DISUSED = ("disused", "废弃", "Disused", "grey")


class _Placed:
    """What every ledger record has: a code, a point, its grid, a version, retirement."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The record's key: the code given, or one derived from the normalised address.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(String(16), index=True)
    village_code: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def territory_code(self) -> str:
        return self.grid_code


class StandardAddress(_Placed, Base):
    """A standard address (标准地址): road / number / compound / building / unit / room."""

    __tablename__ = "ledger_addresses"

    road: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(20), default="")
    compound: Mapped[str] = mapped_column(String(100), default="")
    building: Mapped[str] = mapped_column(String(20), default="")
    entrance: Mapped[str] = mapped_column(String(20), default="")  # 单元
    room: Mapped[str] = mapped_column(String(20), default="")
    full_text: Mapped[str] = mapped_column(String(300), index=True)
    keywords: Mapped[str] = mapped_column(Text, default="")  # pinyin and initials


class Building(_Placed, Base):
    """A building: footprint (or its point), floors, use and address."""

    __tablename__ = "ledger_buildings"
    __table_args__ = (CheckConstraint("floors >= 0", name="floors"),)

    name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    floors: Mapped[int] = mapped_column(Integer, default=1)
    use: Mapped[BuildingUse] = mapped_column(EnumText(BuildingUse, 20))
    footprint: Mapped[str | None] = mapped_column(Text, nullable=True)  # GeoJSON polygon


class Dwelling(_Placed, Base):
    """A dwelling: its address and how many households live there (never who)."""

    __tablename__ = "ledger_dwellings"
    __table_args__ = (CheckConstraint("households >= 0", name="households"),)

    address: Mapped[str] = mapped_column(String(300))
    building_code: Mapped[str] = mapped_column(String(64), default="")
    households: Mapped[int] = mapped_column(Integer, default=1)
    is_rental: Mapped[bool] = mapped_column(Boolean, default=False)
    is_vacant: Mapped[bool] = mapped_column(Boolean, default=False)


class Unit(_Placed, Base):
    """A business or organisation (单位): kind, licence, fire-safety status, work contact."""

    __tablename__ = "ledger_units"

    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), default="")  # 统一社会信用代码
    kind: Mapped[UnitKind] = mapped_column(EnumText(UnitKind, 20), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    fire_status: Mapped[FireStatus] = mapped_column(
        EnumText(FireStatus, 20), default=FireStatus.UNCHECKED
    )
    contact_title: Mapped[str] = mapped_column(String(50), default="")  # e.g. 店长, not a name
    work_phone: Mapped[str] = mapped_column(String(30), default="")

    licences: Mapped[list[UnitLicence]] = relationship(
        order_by=lambda: [UnitLicence.is_main.desc(), UnitLicence.expires_on, UnitLicence.id],
        lazy="selectin",
        viewonly=True,
    )

    @property
    def current_licences(self) -> list[UnitLicence]:
        return [lic for lic in self.licences if lic.retired_at is None]

    def main_licence(self) -> UnitLicence | None:
        return next((lic for lic in self.current_licences if lic.is_main), None)

    # The units sheet's two licence columns are the main licence (docs/ledger.md).
    @property
    def licence_no(self) -> str:
        main = self.main_licence()
        return main.number if main else ""

    @property
    def licence_expires(self) -> date | None:
        main = self.main_licence()
        return main.expires_on if main else None


class LicenceKind(LabelledEnum):
    GENERAL = ("general", "许可证", "Licence")
    BUSINESS = ("business", "营业执照", "Business licence")
    FOOD = ("food", "食品经营许可证", "Food business licence")
    FIRE = ("fire", "消防安全检查合格证", "Fire-safety certificate")
    HEALTH = ("health", "卫生许可证", "Health licence")
    SPECIAL_TRADE = ("special_trade", "特种行业许可证", "Special trade licence")
    HAZCHEM = ("hazchem", "危险化学品经营许可证", "Hazardous chemicals licence")
    OTHER = ("other", "其他证照", "Other licence")


class UnitLicence(Base):
    """One licence a unit holds (证照): kind, number, issuer, expiry. Retired, never deleted;
    the main one is the units sheet's licence columns."""

    __tablename__ = "unit_licences"
    __table_args__ = (UniqueConstraint("unit_id", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id"), index=True)
    kind: Mapped[LicenceKind] = mapped_column(EnumText(LicenceKind, 20))
    number: Mapped[str] = mapped_column(String(60))
    issuer: Mapped[str] = mapped_column(String(100), default="")
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    is_main: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Component(_Placed, Base):
    """An urban component (部件) with its GB/T 47678.5 class code (C + 5 digits)."""

    __tablename__ = "ledger_components"

    class_code: Mapped[str] = mapped_column(String(8), index=True)
    shape: Mapped[str | None] = mapped_column(Text, nullable=True)  # GeoJSON line, if a line
    owner: Mapped[str] = mapped_column(String(100), default="")
    maintainer: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[ComponentState] = mapped_column(
        EnumText(ComponentState, 20), default=ComponentState.INTACT
    )
    # A photo stored like a case attachment (content hash): "<sha256>.<jpg|png|webp>", or "".
    photo: Mapped[str] = mapped_column(String(200), default="")

    @property
    def photo_sha256(self) -> str | None:
        """The stored photo's content hash, or None without one (or with a malformed reference)."""
        found = PHOTO_REF.match(self.photo or "")
        return found.group(1) if found else None


class LedgerChange(Base):
    """One change to a ledger record: who, what (field → [before, after]), when. Append-only."""

    __tablename__ = "ledger_changes"
    __table_args__ = (Index("ix_ledger_changes_record", "kind", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LedgerKind] = mapped_column(EnumText(LedgerKind, 20))
    record_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # created, corrected, imported, retired
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


MODELS: dict[LedgerKind, type[Any]] = {
    LedgerKind.ADDRESSES: StandardAddress,
    LedgerKind.BUILDINGS: Building,
    LedgerKind.DWELLINGS: Dwelling,
    LedgerKind.UNITS: Unit,
    LedgerKind.COMPONENTS: Component,
}
