"""Cases, their append-only event log, stage clocks, summons, attachments and notifications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.calendar.units import Light, TimeUnit
from civgrid.cases.transitions import CaseAction, CaseState
from civgrid.catalogue.models import Stage
from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class CaseSource(LabelledEnum):
    PATROL = ("patrol", "网格员巡查", "Grid-worker patrol")
    PORTAL = ("portal", "居民上报", "Resident portal")
    HOTLINE = ("hotline", "12345热线", "12345 hotline")
    WALK_IN = ("walk_in", "窗口来访", "Walk-in window")
    OPEN311 = ("open311", "Open311", "Open311 client")
    INSPECTION = ("inspection", "检查发现", "Inspection finding")
    IMPORT = ("import", "外部导入", "Imported")
    CARE = ("care", "关爱走访发现", "Care programme visit")


class CaseLevel(LabelledEnum):
    """Tier that owns the case: small matters stay in the village, big ones in the township."""

    GRID = ("grid", "网格", "Grid", "green")
    VILLAGE = ("village", "村（社区）", "Village", "teal")
    TOWNSHIP = ("township", "镇（街道）", "Township", "blue")
    COUNTY = ("county", "区（县）", "County", "purple")

    def higher(self) -> CaseLevel | None:
        order = list(CaseLevel)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None


class Priority(LabelledEnum):
    LOW = ("low", "一般", "Low", "grey")
    NORMAL = ("normal", "普通", "Normal", "blue")
    URGENT = ("urgent", "紧急", "Urgent", "orange")
    EMERGENCY = ("emergency", "特急", "Emergency", "red")


class AttachmentKind(LabelledEnum):
    BEFORE = ("before", "处置前", "Before")
    AFTER = ("after", "处置后", "After")
    VERIFY = ("verify", "核查", "Verification")  # taken on site by whoever verified


def _in(states: Iterable[CaseState], negate: bool = False) -> Any:
    values = ", ".join(f"'{s.value}'" for s in sorted(states))
    return text(f"state {'NOT IN' if negate else 'IN'} ({values})")


# What the partial indexes cover: open cases, and cases the public sees (civgrid.cases.public).
OPEN_CASES = _in(s for s in CaseState if s.is_open)
PUBLIC_HIDDEN = frozenset(
    {CaseState.REPORTED, CaseState.REJECTED, CaseState.VOIDED, CaseState.MERGED}
)


def _partial(name: str, *columns: Any, where: Any, **kw: Any) -> Index:
    return Index(name, *columns, postgresql_where=where, sqlite_where=where, **kw)


SUMMARY_COLUMNS = (
    "territory_code",
    "lon",
    "lat",
    "state",
    "due_at",
    "yellow_at",
    "updated_at",
    "category_id",
)


def list_indexes() -> tuple[Index, ...]:
    """Indexes shaped for the lists, so that none reads the history of closed cases.

    The desk's queues walk open cases in deadline order (``due_at, reported_at, id``: the
    keyset of civgrid.desk.service); emergencies first from their own small index; a
    department's and a territory's open cases; the API's newest first; the board's and
    Open311's public list newest first. ``varchar_pattern_ops`` lets PostgreSQL use the
    territory index for the scope's prefix match (``LIKE '4419001%'``) under any collation.
    """
    return (
        _partial("ix_cases_open_due", "due_at", "reported_at", "id", where=OPEN_CASES),
        _partial(
            "ix_cases_open_state_due", "state", "due_at", "reported_at", "id", where=OPEN_CASES
        ),
        # Pending extension requests (延期), a handful among the open cases: the desk's list.
        _partial(
            "ix_cases_open_extension",
            "due_at",
            "reported_at",
            "id",
            where=text(f"{OPEN_CASES.text} AND extension_amount IS NOT NULL"),
        ),
        # Open cases without a deadline (挂账: suspended) oldest first: the desk's undated
        # segment, which would otherwise sort every suspended case in scope.
        _partial(
            "ix_cases_open_undated",
            "reported_at",
            "id",
            where=text(f"{OPEN_CASES.text} AND due_at IS NULL"),
        ),
        _partial(
            "ix_cases_open_emergency_due",
            "due_at",
            "reported_at",
            "id",
            where=text(f"priority = 'emergency' AND {OPEN_CASES.text}"),
        ),
        _partial(
            "ix_cases_open_department_due",
            "department_code",
            "due_at",
            "reported_at",
            "id",
            where=OPEN_CASES,
        ),
        _partial(
            "ix_cases_open_territory_due",
            "territory_code",
            "due_at",
            where=OPEN_CASES,
            postgresql_ops={"territory_code": "varchar_pattern_ops"},
        ),
        Index("ix_cases_reported_at_id", "reported_at", "id"),
        _partial(
            "ix_cases_public_reported_at_id",
            "reported_at",
            "id",
            where=_in(PUBLIC_HIDDEN, negate=True),
        ),
    )


class Case(Base):
    """One matter reported for handling (案件), from discovery to evaluation."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # Optimistic check on top of the row lock: a stale write fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[CaseState] = mapped_column(EnumText(CaseState, 20), index=True)
    state_before_suspension: Mapped[CaseState | None] = mapped_column(
        EnumText(CaseState, 20), nullable=True
    )
    source: Mapped[CaseSource] = mapped_column(EnumText(CaseSource, 20))
    level: Mapped[CaseLevel] = mapped_column(EnumText(CaseLevel, 20))
    priority: Mapped[Priority] = mapped_column(EnumText(Priority, 20), default=Priority.NORMAL)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200), default="")
    division_code: Mapped[str] = mapped_column(String(12), index=True)  # village code
    grid_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    # The grid code, or the village code outside grids: what jurisdiction prefixes match.
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), nullable=True, index=True
    )
    description: Mapped[str] = mapped_column(Text)
    outcome_note: Mapped[str] = mapped_column(Text, default="")  # published on the board
    # Minimal reporter data (PIPL): every read through the API is logged.
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reporter_phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    reporter_email: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # How a caller asked to be addressed (hotline, walk-in): optional, read like the contact.
    reporter_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id"), nullable=True, index=True
    )
    # A pending extension request (延期), if any.
    extension_amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    extension_reason: Mapped[str] = mapped_column(String(500), default="")
    # The running stage clock, copied from the open CaseClock for lists and lights.
    stage: Mapped[Stage | None] = mapped_column(EnumText(Stage, 20), nullable=True)
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_unit: Mapped[TimeUnit | None] = mapped_column(EnumText(TimeUnit, 20), nullable=True)
    # When the running stage's light turns yellow (80 % of its limit used): lists colour
    # lights in SQL from it and ``due_at`` (civgrid.desk.service.light_of).
    yellow_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Lists of one category, newest first.
        Index("ix_cases_category_id_reported_at", "category_id", "reported_at"),
        # Likely duplicates: one category, near a point (civgrid.cases.duplicates).
        Index("ix_cases_category_id_lat_lon", "category_id", "lat", "lon"),
        *list_indexes(),
        # The minute refresh's tag (civgrid.desk.freshness): the newest change in a scope, one
        # backward step; the next light to turn yellow, one forward step.
        Index("ix_cases_updated_territory", "updated_at", "territory_code"),
        _partial("ix_cases_open_yellow", "yellow_at", "territory_code", where=OPEN_CASES),
        # The desk's aggregates over the open cases in a scope (a department's refresh tag, the
        # map's cells and lights), read from the index alone: every column they use is in it.
        _partial(
            "ix_cases_open_territory_summary",
            *SUMMARY_COLUMNS,
            where=OPEN_CASES,
            postgresql_ops={"territory_code": "varchar_pattern_ops"},
        ),
    )

    clocks: Mapped[list[CaseClock]] = relationship(back_populates="case", order_by="CaseClock.id")

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.state}>"


class CaseEvent(Base):
    """One step in a case's life: who did what, when, from which state to which (append-only)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[CaseAction] = mapped_column(EnumText(CaseAction, 24))
    from_state: Mapped[CaseState | None] = mapped_column(EnumText(CaseState, 20), nullable=True)
    to_state: Mapped[CaseState] = mapped_column(EnumText(CaseState, 20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    case: Mapped[Case] = relationship(lazy="raise")


class CaseClock(Base):
    """One run of a stage's time limit: start, deadline on the working calendar, finish."""

    __tablename__ = "case_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[Stage] = mapped_column(EnumText(Stage, 20))
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[TimeUnit] = mapped_column(EnumText(TimeUnit, 20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # When the light turns yellow (80 % of the limit used); NULL on clocks finished before
    # migration 0023.
    yellow_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    case: Mapped[Case] = relationship(back_populates="clocks")


class CaseSummons(Base):
    """A department summoned to a case (吹哨报到) and its acknowledgement."""

    __tablename__ = "case_summons"
    __table_args__ = (UniqueConstraint("case_id", "department_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    summoned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    summoned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    unit: Mapped[TimeUnit] = mapped_column(EnumText(TimeUnit, 20))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")


class CaseAttachment(Base):
    """A photo stored by content hash; the original stays with staff, copies shown are EXIF-free."""

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(EnumText(AttachmentKind, 10))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the retention purge removed the location (EXIF GPS) from the stored original.
    location_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseNotification(Base):
    """Outbox row: written in the action's transaction, delivered only after commit."""

    __tablename__ = "case_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # "office" (a division code), "department" (a department code) or "reporter" (a case id)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    recipient_ref: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)

    case: Mapped[Case] = relationship(lazy="raise")


class CaseNumberCounter(Base):
    """Per-township, per-day sequence behind human-readable case numbers."""

    __tablename__ = "case_number_counters"

    prefix: Mapped[str] = mapped_column(String(24), primary_key=True)  # "441900101-20261123"
    last: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` for one report: a retry with it gets the first answer.

    Keys are per client (``scope``: ``api:<user id>`` or ``open311:<client id>``); the row is
    written in the report's own transaction, so a report and its key commit or vanish together.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")  # the first answer's body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def state_in(states: Iterable[CaseState], *, negate: bool = False) -> ColumnElement[bool]:
    """``cases.state [NOT] IN ('…', …)`` with the values written into the statement.

    The partial indexes of :func:`list_indexes` serve a query only when the planner can prove
    their condition from the query's, also in a prepared statement's generic plan, where
    bound values are unknown: so list queries carry these literal conditions.
    """
    values: list[ColumnElement[Any]] = [literal_column(f"'{s.value}'") for s in sorted(states)]
    return Case.state.notin_(values) if negate else Case.state.in_(values)


def open_case() -> ColumnElement[bool]:
    """The condition of the open-case indexes, for list queries (see :func:`state_in`)."""
    return state_in(s for s in CaseState if s.is_open)


def publishable_state() -> ColumnElement[bool]:
    """The state part of the public-visibility rule, as the public index states it."""
    return state_in(PUBLIC_HIDDEN, negate=True)


def light_rule(
    due_at: Any, yellow_at: Any, at: datetime
) -> list[tuple[ColumnElement[bool], ColumnElement[str]]]:
    """The deadline light at ``at`` as ``CASE`` branches, first match wins: red past the
    deadline, yellow from the instant 80 % of the limit is used (``WorkCalendar.turns_yellow``).
    The desk's lists and map and the figures' open cases by light share it; each caller adds
    what comes before (no running clock) and after (green)."""
    return [
        (due_at < at, literal(Light.RED.value)),
        (yellow_at <= at, literal(Light.YELLOW.value)),
    ]


def is_emergency() -> ColumnElement[bool]:
    """``priority = 'emergency'``, literal, as the emergency index states it."""
    return Case.priority == literal_column("'emergency'")
