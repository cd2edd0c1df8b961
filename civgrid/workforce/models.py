"""Workforce (SPEC §6): duty roster, training and exams, patrols with their tracks, weekly grid
meetings, and the quarterly appraisal.

Staffing itself lives on the grid (``Grid.leader_id``, ``GridMember.post``) and the user
(``User.employment``); here are the records built around it. Only staff are tracked, and only
while a patrol is open: a patrol's raw points are purged after ``patrol_points_keep_days``,
its summary and the daily totals are kept.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class DutyShift(Base):
    """One shift of the command center's duty roster (值班表)."""

    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    post: Mapped[str] = mapped_column(String(40), default="")


class TrainingCourse(Base):
    """A training course with its exam; a required one gates field work."""

    __tablename__ = "training_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    pass_mark: Mapped[int] = mapped_column(Integer, default=60)
    # A passed exam's certificate lasts this many months (None: for good).
    valid_months: Mapped[int | None] = mapped_column(Integer, nullable=True)


class TrainingSession(Base):
    """One session of a course, with who attended."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(100), default="")
    attendees: Mapped[list[int]] = mapped_column(JSON, default=list)


class ExamResult(Base):
    """A worker's exam result in a course; passed when the score reaches the pass mark."""

    __tablename__ = "exam_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    taken_on: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)


class PatrolState(LabelledEnum):
    OPEN = ("open", "巡查中", "On patrol", "green", "open")
    CLOSED = ("closed", "已结束", "Ended", "grey", "closed")
    AUTO_CLOSED = ("auto_closed", "自动结束", "Closed automatically", "orange", "closed")


class Patrol(Base):
    """One patrol (巡查) by a grid worker, with the summary of its track."""

    __tablename__ = "patrols"
    __table_args__ = (Index("ix_patrols_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[PatrolState] = mapped_column(EnumText(PatrolState, 20), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The worker's grids when the patrol started: scope and "inside my grids".
    grid_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    point_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    inside_s: Mapped[float] = mapped_column(Float, default=0.0)
    stops: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The simplified track, [[lon, lat, epoch seconds], …]; None once purged.
    track: Mapped[list[list[float]] | None] = mapped_column(JSON, nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PatrolPoint(Base):
    """One raw position of an open patrol; purged after the keeping period."""

    __tablename__ = "patrol_points"
    __table_args__ = (UniqueConstraint("patrol_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)


class PatrolBatch(Base):
    """An uploaded batch, by its idempotency key: a batch sent twice is stored once."""

    __tablename__ = "patrol_batches"

    patrol_id: Mapped[int] = mapped_column(
        ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stored: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class PatrolDay(Base):
    """A worker's patrol totals for one local day; kept after the raw points are purged."""

    __tablename__ = "patrol_days"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    patrols: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    inside_s: Mapped[float] = mapped_column(Float, default=0.0)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)


class GridMeeting(Base):
    """The weekly grid meeting (网格例会): last week's prepared summary, attendance, minutes."""

    __tablename__ = "grid_meetings"
    __table_args__ = (UniqueConstraint("grid_id", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    grid_code: Mapped[str] = mapped_column(String(16), index=True)
    week_start: Mapped[date] = mapped_column(Date)  # the Monday of the week summarised
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attendees: Mapped[list[int]] = mapped_column(JSON, default=list)
    minutes: Mapped[str] = mapped_column(Text, default="")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AppraisalScheme(Base):
    """How one role is appraised: indicator weights, manual items, grade thresholds."""

    __tablename__ = "appraisal_schemes"

    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    # {indicator code: weight}; an indicator's value (0–1 rate) × weight gives its points.
    indicators: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # {manual item: maximum points}, entered by the office.
    manual_items: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # [[minimum total, grade], …] best first, e.g. [[90, "优秀"], [75, "良好"], [60, "合格"]].
    grades: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)


class AppraisalEntry(Base):
    """A manual appraisal item for a worker and quarter (training, meeting attendance …)."""

    __tablename__ = "appraisal_entries"
    __table_args__ = (UniqueConstraint("quarter", "user_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(7), index=True)  # 2026-Q4
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item: Mapped[str] = mapped_column(String(40))
    points: Mapped[float] = mapped_column(Float)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Appraisal(Base):
    """A worker's scored quarter: the figures, the items, total, grade, rank and comment."""

    __tablename__ = "appraisals"
    __table_args__ = (UniqueConstraint("quarter", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(7), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
