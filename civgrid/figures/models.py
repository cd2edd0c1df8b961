"""Rollups of the figures: counts of facts per local day × territory × department × category
× worker × part, the same summed per month × township, and how far they are built. Derived
data: ``civgrid figures rebuild`` can always recompute them from the case events and clocks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.db.base import Base, UTCDateTime

# The dimensions of a daily rollup row (FigureCount's key), in the order facts are keyed.
KEY_COLUMNS = ("day", "territory_code", "department_code", "category_id", "worker_id", "part")


class FigureCount(Base):
    """How many facts of one part fell on one local day for one combination of dimensions."""

    __tablename__ = "figure_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    territory_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" none
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: nobody
    part: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        Index("ix_figure_counts_territory_code_day", "territory_code", "day"),
        Index("ix_figure_counts_department_code_day", "department_code", "day"),
        Index("ix_figure_counts_worker_id_day", "worker_id", "day"),
    )


class FigureMonthCount(Base):
    """``figure_counts`` summed per month × township (the first 9 digits of the territory) ×
    department × category × part: what a township, county, province or department reads for
    the whole months of a period (civgrid.figures.rollups.rollup_counts)."""

    __tablename__ = "figure_month_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    township_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" none
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        # a territory's months: the prefix match on PostgreSQL under any collation
        Index(
            "ix_figure_month_counts_township_code_month",
            "township_code",
            "month",
            postgresql_ops={"township_code": "varchar_pattern_ops"},
        ),
        Index("ix_figure_month_counts_department_code_month", "department_code", "month"),
    )


class FigureBuild(Base):
    """The rollups hold every fact dated before ``built_until`` as of ``built_at``."""

    __tablename__ = "figure_builds"

    id: Mapped[int] = mapped_column(primary_key=True)
    built_until: Mapped[date] = mapped_column(Date)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeptReport(Base):
    """A report as it was generated and sent: opened later exactly as it was."""

    __tablename__ = "figure_reports"
    __table_args__ = (UniqueConstraint("division_code", "period", "format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    period: Mapped[str] = mapped_column(String(32))  # "2026-W48", "2026-11", "2026-Q4"
    format: Mapped[str] = mapped_column(String(8))  # html | pdf | xlsx
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
