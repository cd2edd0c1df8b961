"""The units figures are counted for (worker, department, grid … province): their kinds and
codes checked, and which rows of a table count for which of several units of one kind."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from civgrid.auth.models import User
from civgrid.errors import CivgridError
from civgrid.figures.facts import Fact
from civgrid.figures.indicators import INDICATORS, Indicator
from civgrid.text import is_digits

# Unit kinds, and the length of their codes where the code is a division code.
UNIT_KINDS: dict[str, int | None] = {
    "province": 2,
    "city": 4,
    "county": 6,
    "township": 9,
    "village": 12,
    "grid": None,
    "department": None,
    "worker": None,
}
TERRITORIAL = ("province", "city", "county", "township", "village", "grid")


class BadRequest(CivgridError):
    status_code = 400
    code = "bad_request"


@dataclass(frozen=True)
class Unit:
    kind: str
    code: str
    worker_id: int = 0

    @property
    def territorial(self) -> bool:
        return self.kind in TERRITORIAL


def unit_for(db: Session, kind: str, code: str) -> Unit:
    """Check a unit kind and code (400 naming the valid kinds); workers by username."""
    if kind not in UNIT_KINDS:
        raise BadRequest(
            f"unknown unit {kind!r}; valid units: {', '.join(UNIT_KINDS)}", valid=list(UNIT_KINDS)
        )
    code = (code or "").strip()
    length = UNIT_KINDS[kind]
    if kind == "worker":
        user_id = db.scalar(select(User.id).where(User.username == code))
        if user_id is None:
            raise BadRequest(f"unknown worker {code!r}")
        return Unit(kind, code, user_id)
    if kind == "grid" and not (len(code) > 12 and code.isalnum()):
        raise BadRequest(f"a grid code is longer than 12 characters, not {code!r}")
    if length is not None and not (len(code) == length and is_digits(code)):
        raise BadRequest(f"a {kind} code has {length} digits, not {code!r}")
    if kind == "department" and not code:
        raise BadRequest("a department code is required")
    return Unit(kind, code)


def check_codes(codes: Sequence[str] | None) -> list[Indicator]:
    """The indicators named (all when None); 400 naming the valid codes for an unknown one."""
    if codes is None:
        return list(INDICATORS.values())
    unknown = [c for c in codes if c not in INDICATORS]
    if unknown:
        raise BadRequest(
            f"unknown indicator {', '.join(unknown)}; valid indicators: {', '.join(INDICATORS)}",
            valid=list(INDICATORS),
        )
    return [INDICATORS[c] for c in codes]


Counts = defaultdict[str, Counter[str]]


def add_counts(counts: Counts, more: Counts) -> None:
    """Add the counts ``more`` to ``counts``, unit by unit."""
    for code, c in more.items():
        counts[code].update(c)


@dataclass(frozen=True)
class Rows:
    """Which rows belong to which of some units of one kind: one statement groups them all.

    Territories are matched by code prefix (a grid by its code), so children of one unit are
    found under their common prefix and grouped by the first ``length`` characters of the
    territory code; departments by code; a worker by id.
    """

    kind: str
    codes: tuple[str, ...]
    worker_id: int = 0

    @classmethod
    def of(cls, units: Sequence[Unit]) -> Rows:
        kinds = {u.kind for u in units}
        if len(kinds) != 1 or (units[0].kind == "worker" and len(units) > 1):
            raise ValueError("units counted together are of one kind (one worker)")
        return cls(units[0].kind, tuple(u.code for u in units), units[0].worker_id)

    @property
    def length(self) -> int | None:
        return UNIT_KINDS[self.kind]

    @property
    def monthly(self) -> bool:
        """Whether the month rollups hold these units (a township or above, a department)."""
        return self.kind == "department" or (self.length or 99) <= 9

    def match(
        self,
        territory: InstrumentedAttribute[Any],
        department: InstrumentedAttribute[Any],
        worker: InstrumentedAttribute[Any] | None = None,
    ) -> tuple[Any, ColumnElement[bool]]:
        """(each row's unit code, which rows count) over these columns of a table."""
        if self.kind == "department":
            return department, department.in_(self.codes)
        if self.kind == "worker":
            if worker is None:
                return literal(self.codes[0]), false()
            return literal(self.codes[0]), worker == self.worker_id
        if self.kind == "grid":
            return territory, territory.in_(self.codes)
        prefix = os.path.commonprefix(self.codes)
        key = func.substr(territory, 1, self.length)
        return key, territory.startswith(prefix, autoescape=True)

    def fact_key(self, f: Fact) -> str | None:
        """The unit a fact counts for (None: none of them)."""
        if self.kind == "department":
            code = f.department_code
        elif self.kind == "worker":
            return self.codes[0] if f.worker_id == self.worker_id else None
        elif self.kind == "grid":
            code = f.territory_code
        else:
            code = f.territory_code[: self.length]
        return code if code in self.codes else None
