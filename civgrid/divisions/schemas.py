"""Pydantic shapes for divisions."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from civgrid.divisions.models import DivisionLevel


class DivisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None
    valid_from: date
    valid_to: date | None


class DivisionDetail(DivisionOut):
    ancestors: list[DivisionOut]
    children: list[DivisionOut]
