"""Open311 API clients, the link from a submitted request to its case, and service attributes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.db.base import Base, UTCDateTime, utcnow


class AttributeType:
    """The GeoReport v2 datatypes of a service attribute."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLE = "singlevaluelist"
    MULTI = "multivaluelist"
    ALL = (STRING, NUMBER, DATETIME, TEXT, SINGLE, MULTI)


class ApiClient(Base):
    """An outside system allowed to POST requests (an admin issues its key; only a hash is kept)."""

    __tablename__ = "open311_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(8))  # first characters, to tell keys apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RequestToken(Base):
    """A case that came in through Open311: which client sent it, and its request token."""

    __tablename__ = "open311_request_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("open311_clients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceAttribute(Base):
    """One extra question a service asks (GeoReport ``attributes``), keyed by the category code."""

    __tablename__ = "open311_service_attributes"
    __table_args__ = (UniqueConstraint("service_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str] = mapped_column(String(40))
    datatype: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # False for an informational attribute that takes no answer.
    variable: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text)
    datatype_description: Mapped[str] = mapped_column(String(200), default="")
    order: Mapped[int] = mapped_column(Integer, default=1)
    # [{"key": …, "name": …}] for the list datatypes.
    values: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class AttributeAnswer(Base):
    """A client's answer to a service attribute on a case (a multi-value list: one row each)."""

    __tablename__ = "open311_attribute_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
