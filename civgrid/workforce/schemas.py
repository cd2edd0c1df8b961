"""Pydantic shapes for staffing, the roster, training, patrols and meetings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator

from civgrid.auth.models import Employment, Role
from civgrid.auth.schemas import ScopeIn
from civgrid.grids.models import Post
from civgrid.workforce.models import PatrolState


class MemberIn(BaseModel):
    user_id: int
    post: Post = Post.FULL_TIME


class StaffIn(BaseModel):
    leader_id: int | None = None
    members: list[MemberIn] = Field(default_factory=list, max_length=50)


class MemberOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    post: str


class StaffOut(BaseModel):
    grid_code: str
    leader: MemberOut | None
    members: list[MemberOut]
    warnings: list[str]


class UserUpdate(BaseModel):
    display_name: str | None = Field(None, max_length=100)
    role: Role | None = None
    employment: Employment | None = None
    work_phone: str | None = Field(None, max_length=30)
    scopes: list[ScopeIn] | None = None


class PasswordIn(BaseModel):
    password: str = Field(min_length=8, max_length=200)


class PointIn(BaseModel):
    """One position: ``t`` in epoch milliseconds (as the browser gives it) or ISO 8601."""

    t: float | AwareDatetime | None = None
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    acc: float | None = Field(None, ge=0, le=100_000)

    def when(self) -> datetime | None:
        if self.t is None or isinstance(self.t, datetime):
            return self.t.astimezone(UTC) if self.t else None
        return datetime.fromtimestamp(self.t / 1000, tz=UTC)

    @field_validator("t")
    @classmethod
    def _plausible(cls, v: Any) -> Any:
        if isinstance(v, float) and not 0 < v < 1e14:
            raise ValueError("t is epoch milliseconds")
        return v


class BatchIn(BaseModel):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    points: list[PointIn] = Field(max_length=500)


class BatchOut(BaseModel):
    stored: int
    rejected: list[dict[str, Any]]
    duplicate: bool


class EndIn(BaseModel):
    ended_at: AwareDatetime | None = None


class PatrolOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    state: PatrolState
    started_at: datetime
    ended_at: datetime | None
    grid_codes: list[str]
    point_count: int
    rejected_count: int
    distance_m: float
    duration_s: float
    inside_s: float
    stops: list[dict[str, Any]]


class ShiftIn(BaseModel):
    user_id: int
    division_code: str = Field(min_length=2, max_length=12, pattern=r"^\d+$")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    post: str = Field("", max_length=40)


class CourseIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    required: StrictBool = True
    pass_mark: int = Field(60, ge=0, le=100)
    valid_months: int | None = Field(None, ge=1, le=120)


class ExamIn(BaseModel):
    user_id: int
    score: int = Field(ge=0, le=100)
    taken_on: date


class MeetingIn(BaseModel):
    attendees: list[int] = Field(default_factory=list, max_length=50)
    minutes: str = Field("", max_length=20_000)


class MeetingPrepareIn(BaseModel):
    week_start: date


class AppraisalRunIn(BaseModel):
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$")
    division: str = Field(min_length=2, max_length=15, pattern=r"^\d+$")


class AppraisalItemIn(BaseModel):
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$")
    user_id: int
    item: str = Field(min_length=1, max_length=40)
    points: float = Field(ge=0, le=100)


class CommentIn(BaseModel):
    comment: str = Field(max_length=2000)


class UnitIn(BaseModel):
    """A neighbourhood unit (联户单元): 10–50 households, a volunteer contact, a place."""

    name: str = Field(min_length=1, max_length=100)
    households: int = Field(ge=10, le=50)
    contact_id: int | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
