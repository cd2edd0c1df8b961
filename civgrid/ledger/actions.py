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
from civgrid.cases.attachments import FORMATS, CheckedImage, store_image
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Forbidden, Invalid
from civgrid.grids.service import grid_at
from civgrid.ledger import service as _scoped  # noqa: F401  (registers the ledger's scope)
from civgrid.ledger.models import (
    MODELS,
    Component,
    LedgerChange,
    LedgerKind,
    LicenceKind,
    Unit,
    UnitLicence,
)
from civgrid.ledger.schemas import COLUMNS, address_text, normalise_address, read_row
from civgrid.web.i18n import N_

OUTSIDE_GRIDS = N_("the point lies outside every grid")
OUTSIDE_JURISDICTION = N_("this location is outside your jurisdiction")
# what a history row says was done (shown through the catalogue)
HISTORY_ACTIONS = (
    N_("created"),
    N_("corrected"),
    N_("imported"),
    N_("retired"),
    N_("licence added"),
    N_("licence renewed"),
    N_("licence retired"),
    N_("photo set"),
)
# The units sheet's licence columns: the unit's main licence, a row of ``unit_licences``.
LICENCE_FIELDS = ("licence_no", "licence_expires")


def jsonable(value: Any) -> Any:
    """A field value as it is kept in a history row."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def row_fields(kind: LedgerKind, values: dict[str, Any]) -> dict[str, Any]:
    """The model fields for read values: the kind's columns plus derived ones."""
    fields = {
        c.field: values[c.field]
        for c in COLUMNS[kind]
        if c.field in values and c.field not in LICENCE_FIELDS
    }
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
    if kind == LedgerKind.UNITS:
        changes |= set_main_licence(db, row.id, values, None, now)
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
    main = row.main_licence() if kind == LedgerKind.UNITS else None
    licence = main_licence_changes(values, main) if kind == LedgerKind.UNITS else {}
    if not changes and not licence:
        return row
    if actor is not None:
        scope.get_for(db, actor, model, row.id, "change")
    for key, value in fields.items():
        setattr(row, key, value)
    row.version += 1
    row.updated_at = utcnow()
    if licence:
        changes |= set_main_licence(db, row.id, values, main, row.updated_at)
    _history(db, kind, row, "corrected", changes, actor)
    db.commit()
    if licence:
        db.expire(row, ["licences"])
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


def set_component_photo(
    db: Session, component: Component, image: CheckedImage, *, actor: User | None
) -> Component:
    """Set or replace an urban component's photo (部件照片), stored by content hash like a case
    attachment (EXIF-free copy and thumbnail); one history row."""
    db.refresh(component, with_for_update=True)
    if component.retired_at is not None:
        raise Conflict(N_("a retired record cannot be corrected"))
    if actor is not None:
        scope.get_for(db, actor, Component, component.id, "change")
    ref = f"{image.sha256}.{FORMATS[image.format][1]}"
    if ref == component.photo:
        return component
    store_image(image)  # content-addressed: a rolled-back change leaves an unused file, no harm
    changes = {"photo": [component.photo or None, ref]}
    component.photo = ref
    component.version += 1
    component.updated_at = utcnow()
    _history(db, LedgerKind.COMPONENTS, component, "photo set", changes, actor)
    db.commit()
    return component


# --- licences (证照) -------------------------------------------------------------------------


def main_licence_changes(values: dict[str, Any], main: UnitLicence | None) -> dict[str, Any]:
    """What the units sheet's licence cells change in the main licence (blank cells: nothing)."""
    number, expires = values.get("licence_no") or "", values.get("licence_expires")
    if not number and expires is None:
        return {}
    old_number, old_expires = (main.number, main.expires_on) if main else (None, None)
    changes = {}
    if number != old_number:
        changes["licence_no"] = [old_number, number]
    if expires != old_expires:
        changes["licence_expires"] = [jsonable(old_expires), jsonable(expires)]
    return changes


def set_main_licence(
    db: Session,
    unit_id: int,
    values: dict[str, Any],
    main: UnitLicence | None,
    now: datetime,
) -> dict[str, Any]:
    """Write the units sheet's licence cells into the unit's main licence; the changes."""
    changes = main_licence_changes(values, main)
    if not changes:
        return {}
    number, expires = values.get("licence_no") or "", values.get("licence_expires")
    if main is None:
        main = UnitLicence(
            unit_id=unit_id,
            kind=LicenceKind.GENERAL,
            number=number,
            is_main=True,
            created_at=now,
        )
        db.add(main)
    main.number, main.expires_on, main.updated_at = number, expires, now
    return changes


def _unit_for_change(db: Session, unit: Unit, actor: User | None) -> None:
    db.refresh(unit, with_for_update=True)
    if unit.retired_at is not None:
        raise Conflict(N_("a retired record cannot be corrected"))
    if actor is not None:
        scope.get_for(db, actor, Unit, unit.id, "change")


def add_licence(
    db: Session,
    unit: Unit,
    *,
    kind: LicenceKind,
    number: str,
    issuer: str = "",
    expires_on: date | None = None,
    actor: User | None,
) -> UnitLicence:
    """Add a licence to a unit, or renew it (same kind and number: the issuer and expiry are
    replaced). One history row on the unit."""
    number, issuer = (number or "").strip(), (issuer or "").strip()
    if not number:
        raise Invalid(N_("the licence number is required"), field="number")
    if len(number) > 60 or len(issuer) > 100:
        raise Invalid(N_("longer than %(limit)s characters"), limit=60 if len(number) > 60 else 100)
    _unit_for_change(db, unit, actor)
    kind = LicenceKind(kind)
    found = db.scalar(
        select(UnitLicence).where(
            UnitLicence.unit_id == unit.id, UnitLicence.kind == kind, UnitLicence.number == number
        )
    )
    now = utcnow()
    before: list[Any]
    if found is None:
        found = UnitLicence(unit_id=unit.id, kind=kind, number=number, created_at=now)
        found.is_main = not unit.current_licences
        db.add(found)
        action, before = "licence added", [None, None]
    else:
        if (found.issuer, found.expires_on, found.retired_at) == (issuer, expires_on, None):
            return found
        action, before = "licence renewed", [found.issuer, jsonable(found.expires_on)]
    found.issuer, found.expires_on, found.retired_at, found.updated_at = (
        issuer,
        expires_on,
        None,
        now,
    )
    _licence_history(db, unit, action, kind, number, before, [issuer, jsonable(expires_on)], actor)
    return found


def retire_licence(db: Session, unit: Unit, licence_id: int, *, actor: User | None) -> UnitLicence:
    """Retire (注销) one licence of a unit; it stays in the history."""
    _unit_for_change(db, unit, actor)
    lic = db.get(UnitLicence, licence_id)
    if lic is None or lic.unit_id != unit.id:
        from civgrid.errors import NotFound

        raise NotFound(f"licence {licence_id} not found")
    if lic.retired_at is not None:
        raise Conflict(N_("this record is already retired"))
    lic.retired_at = lic.updated_at = utcnow()
    old = [lic.issuer, jsonable(lic.expires_on)]
    _licence_history(db, unit, "licence retired", lic.kind, lic.number, old, [None, None], actor)
    return lic


def _licence_history(
    db: Session,
    unit: Unit,
    action: str,
    kind: LicenceKind,
    number: str,
    before: list[Any],
    after: list[Any],
    actor: User | None,
) -> None:
    unit.version += 1
    unit.updated_at = utcnow()
    changes = licence_changes(kind, number, before, after)
    _history(db, LedgerKind.UNITS, unit, action, changes, actor)
    db.commit()
    db.expire(unit, ["licences"])


def licence_changes(
    kind: LicenceKind, number: str, before: list[Any], after: list[Any]
) -> dict[str, list[Any]]:
    """A unit's history entries for one licence: its issuer and expiry, before → after."""
    what = f"{kind.label_zh} {number}"
    return {
        f"{what} · 发证机关 issuer": [before[0], after[0]],
        f"{what} · 有效期至 expires": [before[1], after[1]],
    }
