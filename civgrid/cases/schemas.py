"""Pydantic shapes for the case API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civgrid.calendar.units import Light, TimeUnit
from civgrid.cases.models import AttachmentKind, CaseLevel, CaseSource, Priority
from civgrid.cases.transitions import CaseAction, CaseState
from civgrid.catalogue.models import Stage

Note = Field("", max_length=2000)
Required = Field(min_length=1, max_length=2000)


class CaseReport(BaseModel):
    """A new report (上报)."""

    source: CaseSource = CaseSource.PATROL
    category_id: int
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude")
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude")
    description: str = Field(min_length=1, max_length=4000)
    address: str = Field("", max_length=200)
    priority: Priority = Priority.NORMAL
    reporter_phone: str | None = Field(None, max_length=30)
    reporter_email: str | None = Field(None, max_length=120)


class NoteIn(BaseModel):
    note: str = Note


class ReasonIn(BaseModel):
    reason: str = Required


class RegisterIn(NoteIn):
    priority: Priority | None = None


class DispatchIn(NoteIn):
    department: str | None = Field(None, description="department code; omit to take the suggestion")


class HandleIn(BaseModel):
    feedback: str = Required
    attachment_ids: list[int] = Field(min_length=1)


class VerifyIn(NoteIn):
    passed: bool
    attachment_ids: list[int] = []


class CloseIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=2000, description="published outcome note")


class EvaluateIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=1000)


class SelfHandleIn(BaseModel):
    note: str = Required
    attachment_ids: list[int] = Field(min_length=1)


class ExtensionIn(BaseModel):
    amount: float = Field(gt=0, le=60, description="in the unit of the running time limit")
    reason: str = Required


class MergeIn(NoteIn):
    into: str = Field(description="number of the surviving case")


class SummonIn(NoteIn):
    departments: list[str] = Field(min_length=1)


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: AttachmentKind
    content_type: str
    size: int
    width: int
    height: int
    filename: str
    uploaded_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_label: str
    action: CaseAction
    from_state: CaseState | None
    to_state: CaseState
    note: str
    data: dict[str, Any]
    attachment_ids: list[int]


class ClockOut(BaseModel):
    stage: Stage
    amount: float
    unit: TimeUnit
    started_at: datetime
    due_at: datetime
    finished_at: datetime | None
    used: float
    light: Light


class SummonsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_code: str
    summoned_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    flagged_at: datetime | None
    missing: bool = False


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    state: CaseState
    state_label: str
    group: str
    source: CaseSource
    level: CaseLevel
    priority: Priority
    category_id: int
    lon: float
    lat: float
    address: str
    division_code: str
    grid_code: str | None
    department_code: str | None
    description: str
    outcome_note: str
    rating: int | None
    stage: Stage | None
    due_at: datetime | None
    reported_at: datetime
    closed_at: datetime | None
    version: int


class DuplicateOut(BaseModel):
    number: str
    state: CaseState
    distance_m: float
    reported_at: datetime


class ReportOut(CaseOut):
    """The answer to a report: the new case and the likely duplicates to look at."""

    likely_duplicates: list[DuplicateOut]


class CaseDetail(CaseOut):
    reporter_name: str | None = None  # a hotline caller's or walk-in visitor's, if given
    reporter_phone: str | None
    reporter_email: str | None
    merged_into: str | None
    extension_pending: float | None
    allowed_actions: list[CaseAction]
    suggested_department: str | None
    events: list[EventOut]
    clocks: list[ClockOut]
    summons: list[SummonsOut]
    attachments: list[AttachmentOut]
    likely_duplicates: list[DuplicateOut]
