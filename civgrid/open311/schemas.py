"""What a client sends: a POSTed request (form fields) and the filters of GET requests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData, UploadFile

from civgrid.config import get_settings
from civgrid.errors import Invalid
from civgrid.text import is_digits

# attribute[code] or attribute[code][] (a multi-value list answers once per value).
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,40})\](?:\[\])?$")
_SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")
MAX_PAGE_SIZE = 1000
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Submission:
    """A POST requests body, as sent. Names (first_name, last_name) are read and dropped."""

    api_key: str
    service_code: str
    description: str
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    email: str = ""
    phone: str = ""
    media_url: str = ""
    media: UploadFile | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def submission_from_form(form: FormData) -> Submission:
    """Read the spec's fields from a form-encoded or multipart body."""
    attributes: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        match = _ATTRIBUTE.match(key)
        if match and isinstance(value, str) and value.strip():
            attributes.setdefault(match.group(1), []).append(value.strip())
    media = form.get("media")
    return Submission(
        api_key=_field(form, "api_key"),
        service_code=_field(form, "service_code"),
        description=_field(form, "description"),
        lat=_field(form, "lat"),
        long=_field(form, "long"),
        address_string=_field(form, "address_string"),
        address_id=_field(form, "address_id"),
        email=_field(form, "email"),
        phone=_field(form, "phone"),
        media_url=_field(form, "media_url"),
        media=media if isinstance(media, UploadFile) else None,
        attributes=attributes,
    )


def parse_w3c(value: str, name: str) -> datetime:
    """A W3C datetime (``2026-03-01T00:00:00Z``); without an offset it is local time."""
    # An unencoded "+" in a query string arrives as a space: take it back.
    value = _SPACED_OFFSET.sub(r"+\1", value.strip())
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be a W3C datetime such as 2026-03-01T00:00:00+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=get_settings().tz)
    # far enough from datetime's limits that the 90-day window and time zones cannot overflow
    if not W3C_EARLIEST <= moment <= W3C_LATEST:
        raise Invalid(f"{name} must lie between 1970 and 2999")
    return moment


W3C_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
W3C_LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def _codes(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@dataclass(frozen=True)
class RequestQuery:
    """GET requests filters. Without ids or dates: the last 90 days, at most 1,000 requests."""

    ids: list[str]
    service_codes: list[str]
    statuses: list[str]
    start: datetime | None
    end: datetime | None
    page: int
    page_size: int
    start_given: bool = True  # False: ``start`` is the default window back from now

    def filters(self) -> tuple[Any, ...]:
        """What selects the requests, apart from the page: the same for each page of a walk."""
        return (
            tuple(self.ids),
            tuple(self.service_codes),
            tuple(sorted(self.statuses)),
            self.start if self.start_given else None,  # a moving default: the same walk
            self.end,
        )

    @classmethod
    def parse(
        cls,
        *,
        service_request_id: str = "",
        service_code: str = "",
        start_date: str = "",
        end_date: str = "",
        status: str = "",
        page: str = "",
        page_size: str = "",
        now: datetime,
    ) -> RequestQuery:
        statuses = [s.lower() for s in _codes(status)]
        unknown = sorted(set(statuses) - {"open", "closed"})
        if unknown:
            raise Invalid(f"status must be open or closed, not {', '.join(unknown)}")
        start = parse_w3c(start_date, "start_date") if start_date else None
        end = parse_w3c(end_date, "end_date") if end_date else None
        if start is not None and end is not None and start > end:
            raise Invalid("start_date is after end_date")
        ids = _codes(service_request_id)
        start_given = start is not None
        if not ids and start is None:
            start = (end or now) - timedelta(days=DEFAULT_DAYS)
        return cls(
            ids=ids,
            service_codes=_codes(service_code),
            statuses=statuses,
            start=start,
            end=end,
            page=_positive(page, "page", 1),
            page_size=min(_positive(page_size, "page_size", MAX_PAGE_SIZE), MAX_PAGE_SIZE),
            start_given=start_given,
        )


def _positive(value: str, name: str, default: int) -> int:
    if not value:
        return default
    if not is_digits(value) or int(value) < 1:
        raise Invalid(f"{name} must be a positive whole number")
    return int(value)


class ClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    key_hint: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ClientIssued(ClientOut):
    api_key: str = Field(description="Shown once: only its hash is stored")
