"""Division: one node of the NBS statistical division code tree."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText


class DivisionLevel(LabelledEnum):
    PROVINCE = ("province", "省级", "Province")
    CITY = ("city", "地级", "City")
    COUNTY = ("county", "县级", "County")
    TOWNSHIP = ("township", "乡级", "Township / street")
    VILLAGE = ("village", "村级", "Village / community")


# Code length at each level, top-down.
CODE_LENGTHS: dict[DivisionLevel, int] = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.CITY: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.TOWNSHIP: 9,
    DivisionLevel.VILLAGE: 12,
}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}


class Division(Base):
    __tablename__ = "divisions"
    __table_args__ = (Index("ix_divisions_parent_code", "parent_code"),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[DivisionLevel] = mapped_column(EnumText(DivisionLevel, 10))
    depth: Mapped[int] = mapped_column(Integer)
    parent_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)

    @property
    def is_current(self) -> bool:
        return self.valid_to is None
