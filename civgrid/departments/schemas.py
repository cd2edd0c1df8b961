"""Pydantic shapes for departments."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    division_code: str
    is_active: bool
