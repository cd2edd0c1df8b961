"""Pydantic shapes for the catalogue API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.models import CategoryKind, Stage


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: CategoryKind
    major_code: str
    major_name_zh: str
    major_name_en: str
    name_zh: str
    name_en: str
    standard_ref: str
    is_published: bool
    is_major_emergency: bool
    is_staff_complaint: bool
    is_private: bool
    is_active: bool


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=6,
        max_length=6,
        description="kind letter (C, M, G) + 2-digit major + 3-digit minor, e.g. G18001",
    )
    kind: CategoryKind = CategoryKind.SERVICE_ITEM
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=150)
    major_name_zh: str = Field("", max_length=50, description="needed for a new major class")
    major_name_en: str = Field("", max_length=80)
    keywords: str = Field("", max_length=1000)
    is_published: StrictBool = True
    is_major_emergency: StrictBool = False


class CategoryPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, max_length=150)
    keywords: str | None = Field(None, max_length=1000)
    is_published: StrictBool | None = None
    is_major_emergency: StrictBool | None = None
    is_private: StrictBool | None = Field(None, description="a personal matter: never published")
    is_active: StrictBool | None = None


class TimeLimitIn(BaseModel):
    category: str | None = Field(None, description="category code; omit for the stage default")
    stage: Stage
    amount: float = Field(gt=0, le=10_000, allow_inf_nan=False)
    unit: TimeUnit
    condition: str = Field("", max_length=500)


class TimeLimitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category_id: int | None
    stage: Stage
    amount: float
    unit: TimeUnit
    condition: str


class EffectiveLimitOut(BaseModel):
    stage: Stage
    amount: float
    unit: TimeUnit
    source: str = Field(
        description="category, emergency (a major emergency: continuous hours), "
        "default (set by an admin) or built-in"
    )


class RoutingRuleIn(BaseModel):
    department: str = Field(description="department code")
    category: str | None = Field(None, description="category code")
    major_code: str | None = Field(None, description="a whole major class, e.g. M06 or G13")
    division_prefix: str = Field("", pattern=r"^\d{0,12}$")
    priority: int = Field(0, ge=-1000, le=1000)


class RoutingRulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str | None = Field(None, description="department code")
    division_prefix: str | None = Field(None, pattern=r"^\d{0,12}$")
    priority: int | None = Field(None, ge=-1000, le=1000)


class RoutingRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category_id: int | None
    category_code: str | None
    major_code: str | None
    division_prefix: str
    department_id: int
    department_code: str
    priority: int


class Suggestion(BaseModel):
    category: str
    division_code: str
    department: str | None
    department_name: str | None
