"""Declarative base and shared column types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Set only by ``acting_at``: history written through the real actions at past instants.
_NOW: ContextVar[datetime | None] = ContextVar("civgrid_now", default=None)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC (or the instant ``acting_at`` set)."""
    fixed = _NOW.get()
    return fixed if fixed is not None else datetime.now(UTC)


@contextmanager
def acting_at(when: datetime) -> Iterator[None]:
    """Inside the block, ``utcnow()`` is ``when``: replays a case history at its own times."""
    if when.tzinfo is None:
        raise ValueError("acting_at needs a timezone-aware instant")
    token = _NOW.set(when.astimezone(UTC))
    try:
        yield
    finally:
        _NOW.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; SQLite gets it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; civgrid stores timezone-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[StrEnum]):
    """A string enum (e.g. a ``LabelledEnum``) stored as its value, read back as the member.

    Use it for every choice column: ``mapped_column(EnumText(CaseState, 20))``. Migrations
    see a plain ``sa.String(length)``, so adding a member needs no migration.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
