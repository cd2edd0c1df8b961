"""Categories, time limits and routing rules."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.calendar.units import TimeUnit
from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText
from civgrid.departments.models import Department


class CategoryKind(LabelledEnum):
    COMPONENT = ("component", "管理部件", "Urban component")
    MATTER = ("matter", "管理事项", "Matter")
    SERVICE_ITEM = ("service_item", "网格服务事项", "Grid service item")


class Stage(LabelledEnum):
    """The stages of a case that carry a time limit."""

    REGISTER = ("register", "立案", "Registration")
    DISPATCH = ("dispatch", "派遣", "Dispatch")
    HANDLE = ("handle", "处置", "Handling")
    VERIFY = ("verify", "核实", "Verification")
    CLOSE = ("close", "结案", "Closing")
    ACKNOWLEDGE = ("acknowledge", "报到", "Summons acknowledgement")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Globally unique: C/M + the standard's 5-digit code, or G + civgrid's item code.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[CategoryKind] = mapped_column(EnumText(CategoryKind, 16))
    major_code: Mapped[str] = mapped_column(String(8), index=True)  # e.g. M06, G13
    major_name_zh: Mapped[str] = mapped_column(String(50))
    major_name_en: Mapped[str] = mapped_column(String(80), default="")
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150), default="")
    standard_ref: Mapped[str] = mapped_column(String(80), default="")
    # Search text: extra words, full pinyin and initials of the Chinese names.
    keywords: Mapped[str] = mapped_column(Text, default="")
    # The published matter list: only published categories may be given to grid workers.
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    is_major_emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    # Complaints about grid staff go to the grid office, never to the person concerned.
    is_staff_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    # A matter about a person or a household (a dispute, a request for help, unpaid wages):
    # handled like any case, never listed on the public board or by Open311.
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an admin rewords the names or keywords: a reload of the data files keeps them.
    names_edited: Mapped[bool] = mapped_column(Boolean, default=False)

    def name(self, locale: str = "zh_CN") -> str:
        return self.name_en or self.name_zh if locale.startswith("en") else self.name_zh


class TimeLimit(Base):
    """A stage's time limit for one category, or the default for the stage (no category)."""

    __tablename__ = "time_limits"
    __table_args__ = (UniqueConstraint("category_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), nullable=True
    )
    stage: Mapped[Stage] = mapped_column(EnumText(Stage, 16))
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[TimeUnit] = mapped_column(EnumText(TimeUnit, 20))
    condition: Mapped[str] = mapped_column(Text, default="")


class RoutingRule(Base):
    """Category (or major class) × jurisdiction → the responsible department."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), nullable=True, index=True
    )
    major_code: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    division_prefix: Mapped[str] = mapped_column(String(12), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)

    department: Mapped[Department] = relationship(lazy="joined")
    category: Mapped[Category | None] = relationship(lazy="joined")

    @property
    def department_code(self) -> str:
        return self.department.code

    @property
    def category_code(self) -> str | None:
        return self.category.code if self.category else None
