"""Keyset pages: lists that read only the rows they show, however long the history behind them.

A list is ordered by a few columns ending in the primary key (``reported_at, id``, or
``due_at, reported_at, id``). A page is the rows after (or before) the last (first) row shown,
read from an index in that order, so page 10,000 costs what page 1 costs, and rows added
meanwhile never shift a page (no duplicates, no omissions, unlike ``OFFSET``).

A list may be made of *segments* read one after the other (the desk: emergencies first, and
cases without a deadline after those with one), each with its own condition and order, so
that each segment's order is an index's order.

The position travels as an opaque cursor: the list's name, the segment and the key values,
signed with the deployment's secret, so a client can neither forge a position nor use one
list's cursor on another. A bad cursor is a 400 with a message saying what to do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, DateTime, Select, func, literal, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from civgrid.errors import CivgridError

R = TypeVar("R")
MAX_CURSOR = 600  # characters; a real cursor is well under 200


class BadCursor(CivgridError):
    status_code = 400
    code = "bad_cursor"


BAD_CURSOR = "this page link is not valid; start again from the first page"


@dataclass(frozen=True)
class Segment:
    """Part of a list: the rows ``where`` selects, in the order of ``keys`` (the last unique)."""

    keys: tuple[InstrumentedAttribute[Any], ...]
    where: ColumnElement[bool] = field(default_factory=true)
    descending: bool = False

    def ordered(self, backwards: bool) -> list[Any]:
        down = self.descending != backwards
        return [k.desc() if down else k.asc() for k in self.keys]

    def beyond(self, values: Sequence[Any], backwards: bool) -> ColumnElement[bool]:
        """Rows after ``values`` in this segment's order (before them, ``backwards``)."""
        # bound with each column's type, so that a datetime is stored as the column stores it
        at = tuple_(*[literal(v, k.type) for v, k in zip(values, self.keys, strict=True)])
        row = tuple_(*self.keys)
        return row < at if self.descending != backwards else row > at


@dataclass(frozen=True)
class Position:
    """Where a page starts: after (or, ``backwards``, before) ``values`` in ``segment``."""

    segment: int
    values: tuple[Any, ...]
    backwards: bool = False


@dataclass(frozen=True)
class Page(Generic[R]):
    rows: list[R]
    next: str | None  # the cursor of the page after, None on the last page
    previous: str | None  # the cursor of the page before, None on the first page


@dataclass(frozen=True)
class Keyset:
    """A list's name (signed into its cursors) and its segments, read in turn."""

    name: str
    segments: tuple[Segment, ...]

    def cursor(self, position: Position) -> str:
        payload = {
            "l": self.name,
            "s": position.segment,
            "b": int(position.backwards),
            "v": [_plain(v) for v in position.values],
        }
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        text = body.decode().rstrip("=")
        return f"{text}.{_signature(text)}"

    def position(self, cursor: str) -> Position:
        """The position a cursor names; :class:`BadCursor` if it is not one of this list's."""
        try:
            text, sig = cursor.split(".")
            if len(cursor) > MAX_CURSOR or not hmac.compare_digest(sig, _signature(text)):
                raise ValueError("signature")
            payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            index = payload["s"]
            if not isinstance(index, int) or not 0 <= index < len(self.segments):
                raise ValueError("segment")
            segment = self.segments[index]
            if payload["l"] != self.name or len(payload["v"]) != len(segment.keys):
                raise ValueError("another list")
            values = tuple(_typed(v, k) for v, k in zip(payload["v"], segment.keys, strict=True))
            return Position(index, values, bool(payload["b"]))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise BadCursor(BAD_CURSOR) from None

    def page(
        self,
        db: Session,
        query: Select[Any],
        size: int,
        cursor: str | None = None,
        *,
        key_of: Callable[[Any], Any] = lambda row: row[0],
    ) -> Page[Any]:
        """One page of ``query`` (unordered, unlimited) from ``cursor``: at most one statement
        per segment it reaches, each reading ``size + 1`` rows at most."""
        at = self.position(cursor) if cursor else None
        backwards = at is not None and at.backwards
        order = range(len(self.segments))
        if at is not None:
            order = range(at.segment, -1, -1) if backwards else range(at.segment, len(order))
        found: list[tuple[int, Any]] = []
        for i in order:
            seg = self.segments[i]
            q = query.where(seg.where)
            if at is not None and i == at.segment:
                q = q.where(seg.beyond(at.values, backwards))
            rows = db.execute(q.order_by(*seg.ordered(backwards)).limit(size + 1 - len(found)))
            found += [(i, r) for r in rows.all()]
            if len(found) > size:
                break
        more = len(found) > size
        found = found[:size]
        if backwards:
            found.reverse()
        if not found:
            return Page([], None, None)
        first, last = found[0], found[-1]
        after_last = Position(last[0], self._key(last, key_of))
        before_first = Position(first[0], self._key(first, key_of), backwards=True)
        if backwards:  # came back from a later page: there is one
            has_next, has_previous = True, more
        else:
            has_next, has_previous = more, at is not None
        return Page(
            [r for _, r in found],
            self.cursor(after_last) if has_next else None,
            self.cursor(before_first) if has_previous else None,
        )

    def _key(self, found: tuple[int, Any], key_of: Callable[[Any], Any]) -> tuple[Any, ...]:
        obj = key_of(found[1])
        return tuple(getattr(obj, k.key) for k in self.segments[found[0]].keys)


def capped_count(db: Session, query: Select[Any], cap: int) -> tuple[int, bool]:
    """How many rows ``query`` has, counting no further than ``cap``: (count, more than cap)."""
    return capped_counts(db, [query], cap)[0]


def capped_counts(db: Session, queries: Sequence[Select[Any]], cap: int) -> list[tuple[int, bool]]:
    """:func:`capped_count` of each of ``queries``, in one statement."""
    if not queries:
        return []
    counts = [
        select(func.count()).select_from(q.limit(cap + 1).subquery()).scalar_subquery()
        for q in queries
    ]
    found = db.execute(select(*counts)).one()
    return [(min(n or 0, cap), (n or 0) > cap) for n in found]


def _signature(text: str) -> str:
    from civgrid.config import get_settings

    key = ("keyset:" + get_settings().secret_key).encode()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # a string enum
        return value.value
    return value


def _typed(value: Any, key: InstrumentedAttribute[Any]) -> Any:
    """A cursor value back in its column's Python type (ValueError/TypeError if it is not)."""
    column_type = key.type
    kind = (
        datetime
        if isinstance(getattr(column_type, "impl_instance", column_type), DateTime)
        else column_type.python_type
    )
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive datetime")
        return parsed
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("not an integer")
        return value
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value
