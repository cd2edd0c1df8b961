"""The board's filters, read from the query string with a clear message for each bad value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from civgrid.config import get_settings
from civgrid.db.keyset import BAD_CURSOR
from civgrid.errors import Invalid
from civgrid.text import is_digits
from civgrid.web.i18n import N_, gettext

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAP_SIZE = 500  # the map shows at most this many of the newest matching cases
MAX_MAP_SIZE = 1000
# Numbered pages (OFFSET) for the first pages only; further on the board pages by cursor.
MAX_PAGE = 50
MAX_CURSOR = 600

# A major class (M06) or a category (M06001); local catalogues may use other letters and lengths.
CATEGORY = re.compile(r"^[A-Z]{1,3}\d{1,6}$")
GRID_CODE = re.compile(r"^\d{14,15}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STATUSES = ("open", "closed")
FILTER_NAMES = ("category", "grid", "status", "from", "to")


@dataclass(frozen=True)
class FilterError:
    """One bad filter value: the field and an English message (a msgid, translated when shown)."""

    name: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        return gettext(locale, self.message) % self.params


class BadFilter(Invalid):
    """The board's filters did not parse; carries every problem found, not just the first."""

    def __init__(self, errors: list[FilterError]) -> None:
        super().__init__(
            "; ".join(e.text() for e in errors),
            errors=[{"field": e.name, "msg": e.text()} for e in errors],
        )
        self.errors = errors


@dataclass(frozen=True)
class BoardQuery:
    """What the board is asked to show: filters, page and page size."""

    category: str = ""
    grid: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = PAGE_SIZE
    cursor: str = ""  # a keyset position (civgrid.db.keyset); instead of ``page``

    def reported_range(self) -> tuple[datetime | None, datetime | None]:
        """[from, to) in UTC: whole days in the deployment's time zone."""
        tz = get_settings().tz
        start = datetime.combine(self.date_from, time(), tz) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), tz) if self.date_to else None
        )
        return start, end

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this query (with ``changes``), without empty or default values."""
        values = {
            "category": self.category,
            "grid": self.grid,
            "status": self.status,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "page": str(self.page) if self.page != 1 else "",
            "cursor": "",
        }
        values.update({k: str(v) for k, v in changes.items()})
        if values["cursor"]:
            values["page"] = ""
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}

    def url(self, path: str = "/board", **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path


def _int(
    raw: str, name: str, message: str, default: int, high: int, errors: list[FilterError]
) -> int:
    raw = raw.strip()
    if not raw:
        return default
    if not is_digits(raw) or not 1 <= int(raw) <= high:
        errors.append(FilterError(name, message, {"high": high}))
        return default
    return int(raw)


def _date(raw: str, name: str, message: str, errors: list[FilterError]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        if not ISO_DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(FilterError(name, message))
        return None


def parse_query(params: Mapping[str, str], *, map_size: bool = False) -> BoardQuery:
    """A :class:`BoardQuery` from query parameters; :class:`BadFilter` lists every bad value."""
    errors: list[FilterError] = []
    category = params.get("category", "").strip().upper()
    if category and not CATEGORY.match(category):
        errors.append(
            FilterError(
                "category",
                N_("category must be a class code like M06 or a category code like M06001"),
            )
        )
    grid = params.get("grid", "").strip()
    if grid and not GRID_CODE.match(grid):
        errors.append(FilterError("grid", N_("grid must be a grid code of 14 or 15 digits")))
    status = params.get("status", "").strip().lower()
    if status and status not in STATUSES:
        errors.append(FilterError("status", N_("status must be open or closed")))
    date_from = _date(
        params.get("from", ""), "from", N_("the from date must look like 2026-05-31"), errors
    )
    date_to = _date(params.get("to", ""), "to", N_("the to date must look like 2026-05-31"), errors)
    if date_from and date_to and date_from > date_to:
        errors.append(FilterError("to", N_("the from date is after the to date")))
    page_message = N_("page must be a whole number from 1 to %(high)s")
    page = _int(params.get("page", ""), "page", page_message, 1, MAX_PAGE, errors)
    size_default, size_max = (MAP_SIZE, MAX_MAP_SIZE) if map_size else (PAGE_SIZE, MAX_PAGE_SIZE)
    size_message = N_("per_page (cases per page) must be a whole number from 1 to %(high)s")
    per_page = _int(
        params.get("per_page", ""), "per_page", size_message, size_default, size_max, errors
    )
    cursor = params.get("cursor", "").strip()
    if len(cursor) > MAX_CURSOR:
        errors.append(FilterError("cursor", N_(BAD_CURSOR)))
    if errors:
        raise BadFilter(errors)
    return BoardQuery(category, grid, status, date_from, date_to, page, per_page, cursor)
