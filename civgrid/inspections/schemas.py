"""Inspection payloads: a record sent by the field app (possibly from an offline draft)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field, StrictBool

from civgrid.inspections.models import ItemResult
from civgrid.ledger.models import LedgerKind

MAX_ID = 2**31 - 1


class ResultIn(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
    result: ItemResult
    note: str = Field("", max_length=1000)


class RecordIn(BaseModel):
    """An inspection; ``client_key`` is the draft's id, so a draft sent twice is stored once."""

    client_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    template_id: int = Field(ge=1, le=MAX_ID)
    kind: LedgerKind
    target_id: int = Field(ge=1, le=MAX_ID)
    inspected_at: AwareDatetime | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    note: str = Field("", max_length=1000)
    plan_id: int | None = Field(None, ge=1, le=MAX_ID)
    results: list[ResultIn] = Field(max_length=100)


class RecordOut(BaseModel):
    id: int
    failed: int
    cases: list[str]
    inspected_at: datetime
    photos: int = 0


class ItemEdit(BaseModel):
    """An admin's change to a checklist item; send the template version you read."""

    version: int
    text_zh: str | None = Field(None, min_length=1, max_length=200)
    text_en: str | None = Field(None, max_length=300)
    pass_rule_zh: str | None = Field(None, max_length=300)
    pass_rule_en: str | None = Field(None, max_length=400)
    category_code: str | None = Field(None, max_length=16)
    limit_amount: float | None = Field(None, gt=0, le=10_000)
    is_active: StrictBool | None = None
