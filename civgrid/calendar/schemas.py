"""Pydantic shapes for the calendar API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from civgrid.calendar.models import DayKind
from civgrid.calendar.units import TimeUnit


class DayIn(BaseModel):
    kind: DayKind
    name: str = Field("", max_length=100)


class DayOut(BaseModel):
    day: date
    kind: DayKind
    name: str
    source: str  # "official" or "local"


class DeadlineOut(BaseModel):
    start: datetime
    amount: float
    unit: TimeUnit
    deadline: datetime
    deadline_local: str
