"""Changes to the ledger: add, correct, retire. Each is one transaction with its history row
and an audit event; nothing is ever deleted."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Forbidden, Invalid
from civgrid.grids.service import grid_at
from civgrid.ledger import service as _scoped  # noqa: F401  (registers the ledger's scope)
from civgrid.ledger.models import MODELS, LedgerChange, LedgerKind
from civgrid.ledger.schemas import COLUMNS, address_text, normalise_address, read_row
from civgrid.web.i18n import N_

OUTSIDE_GRIDS = N_("the point lies outside every grid")
OUTSIDE_JURISDICTION = N_("this location is outside your jurisdiction")
# what a history row says was done (shown through the catalogue)
HISTORY_ACTIONS = (N_("created"), N_("corrected"), N_("imported"), N_("retired"))


def jsonable(value: Any) -> Any:
    """A field value as it is kept in a history row."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def row_fields(kind: LedgerKind, values: dict[str, Any]) -> dict[str, Any]:
    """The model fields for read values: the kind's columns plus derived ones."""
    fields = {c.field: values[c.field] for c in COLUMNS[kind] if c.field in values}
    if kind == LedgerKind.ADDRESSES:
        fields["full_text"] = address_text(values)
        fields["keywords"] = address_keywords(fields["full_text"])
    return fields


def address_keywords(text: str) -> str:
    """Pinyin words of an address's Chinese parts and its normalised form, for search."""
    words = re.findall(r"[\u3400-\u9fff]+", text)
    return " ".join([normalise_address(text), *(_pinyin(w) for w in words)])


@lru_cache(maxsize=20_000)
def _pinyin(word: str) -> str:
    from civgrid.catalogue.loader import pinyin_keywords

    return pinyin_keywords(word)


def read_or_refuse(kind: LedgerKind, cells: dict[str, Any]) -> dict[str, Any]:
    """A row read, or a 422 naming every bad cell."""
    values, errors = read_row(kind, cells)
    if errors:
        field, first = errors[0]
        raise Invalid(
            first.message % first.params if first.params else first.message,
            field=field,
            msgid=first.message,  # the pages translate it with its params
            params=first.params,
            errors=[f"{f}: {e}" for f, e in errors],
        )
    return values


def place(db: Session, lon: float, lat: float, actor: User | None) -> tuple[str, str]:
    """(village code, grid code) of a point the actor may keep; refuses outside either."""
    found = grid_at(db, lon, lat)
    if found is None:
        raise Invalid(OUTSIDE_GRIDS, field="lon")
    if actor is not None and not scope.Jurisdiction.of(actor).covers_code(found[1]):
        raise Forbidden(OUTSIDE_JURISDICTION, territory=found[1])
    return found


def _history(
    db: Session,
    kind: LedgerKind,
    row: Any,
    action: str,
    changes: dict[str, Any],
    actor: User | None,
) -> None:
    db.add(
        LedgerChange(
            kind=kind,
            record_id=row.id,
            version=row.version,
            action=action,
            changes=changes,
            actor_id=actor.id if actor else None,
            actor_label=actor.username if actor else "system",
            at=row.updated_at,
        )
    )
    record(
        db,
        f"ledger.{action}",
        actor=actor,
        object_type=f"ledger.{kind.value}",
        object_id=row.id,
        detail={"code": row.code, "version": row.version},
    )


def add_record(db: Session, kind: LedgerKind, cells: dict[str, Any], *, actor: User | None) -> Any:
    """Add a record to the ledger, placed in its grid by the locator."""
    model = MODELS[kind]
    if actor is not None:
        scope.check_role(actor, model, "change")
    values = read_or_refuse(kind, cells)
    village, grid = place(db, values["lon"], values["lat"], actor)
    if db.scalar(select(model.id).where(model.code == values["code"])) is not None:
        raise Conflict(N_("a record with this code already exists"), field="code")
    now = utcnow()
    row = model(
        **row_fields(kind, values),
        grid_code=grid,
        village_code=village,
        version=1,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    changes = {k: [None, jsonable(v)] for k, v in row_fields(kind, values).items()}
    _history(db, kind, row, "created", changes, actor)
    db.commit()
    return row


def _current_cells(kind: LedgerKind, row: Any) -> dict[str, Any]:
    return {c.field: getattr(row, c.field) for c in COLUMNS[kind]}


def correct_record(
    db: Session,
    kind: LedgerKind,
    row: Any,
    cells: dict[str, Any],
    *,
    actor: User | None,
    version: int | None = None,
) -> Any:
    """Correct some fields of a record (the form sends the version it showed)."""
    model = MODELS[kind]
    db.refresh(row, with_for_update=True)
    if version is not None and version != row.version:
        raise Conflict(N_("someone else changed this record; reload it and try again"))
    if row.retired_at is not None:
        raise Conflict(N_("a retired record cannot be corrected"))
    merged = _current_cells(kind, row) | {k: v for k, v in cells.items() if k != "code"}
    values = read_or_refuse(kind, merged)
    values["code"] = row.code
    fields = row_fields(kind, values)
    if (fields["lon"], fields["lat"]) != (row.lon, row.lat):
        row.village_code, row.grid_code = place(db, fields["lon"], fields["lat"], actor)
    changes = {
        k: [jsonable(getattr(row, k)), jsonable(v)]
        for k, v in fields.items()
        if getattr(row, k) != v
    }
    if not changes:
        return row
    if actor is not None:
        scope.get_for(db, actor, model, row.id, "change")
    for key, value in fields.items():
        setattr(row, key, value)
    row.version += 1
    row.updated_at = utcnow()
    _history(db, kind, row, "corrected", changes, actor)
    db.commit()
    return row


def retire_record(
    db: Session, kind: LedgerKind, row: Any, *, actor: User | None, reason: str
) -> Any:
    """Retire (注销) a record: it leaves the lists and totals, its history stays."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(N_("reason is required"), field="reason")
    db.refresh(row, with_for_update=True)
    if row.retired_at is not None:
        raise Conflict(N_("this record is already retired"))
    if actor is not None:
        scope.get_for(db, actor, MODELS[kind], row.id, "change")
    row.retired_at = row.updated_at = utcnow()
    row.version += 1
    _history(db, kind, row, "retired", {"reason": [None, reason[:500]]}, actor)
    db.commit()
    return row
