"""Pydantic shapes for users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from civgrid.auth.models import Employment, Role, ScopeKind


class ScopeIn(BaseModel):
    kind: ScopeKind
    ref: str = ""


class ScopeOut(ScopeIn):
    model_config = ConfigDict(from_attributes=True)


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field("", max_length=100)
    role: Role
    employment: Employment | None = None
    work_phone: str | None = Field(None, max_length=30)
    scopes: list[ScopeIn] = []


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    employment: Employment | None
    is_active: bool
    scopes: list[ScopeOut]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)
    expires_at: datetime
