"""The licences sheet (证照表): units' licences in bulk, in and out, on the ledger's file machinery
(the columns in ``schemas.LICENCE_COLUMNS``, the template, the all-or-nothing import with its
error workbook, the export).

A row is one licence of one unit, which it names by the unit's ledger code (单位编码) or its
unified social credit code. A row matches a licence by unit, kind and number: an unknown one is
added (the unit's main licence if it has none), a known one renewed (issuer and expiry as the
row says; a retired one comes back). Importing the same file again changes nothing. Licences the
sheet does not name stay as they are: retiring one is done on the unit's page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.db.base import utcnow
from civgrid.ledger.actions import jsonable, licence_changes
from civgrid.ledger.importer import (
    CHANGES,
    CHUNK,
    ImportResult,
    Progress,
    RowError,
    column_positions,
    history_row,
    refused,
)
from civgrid.ledger.models import LedgerKind, Unit, UnitLicence
from civgrid.ledger.schemas import LICENCE_COLUMNS, UNIT_REF, LicenceSheet, read_cells
from civgrid.web.i18n import N_

HEADERS = {c.field: c.header for c in LICENCE_COLUMNS}
# The export's columns after the sheet's own (not read back by the import).
EXTRA = (
    ("unit_name", "单位名称 unit name"),
    ("is_main", "主证照 main"),
    ("grid_code", "网格编码 grid code"),
)


@dataclass(frozen=True)
class _Row:
    number: int  # the sheet row (the header is row 1)
    unit: Unit
    values: dict[str, Any]

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.unit.id, str(self.values["kind"]), self.values["number"])


def import_licences(
    db: Session,
    header: list[str],
    raw: list[list[Any]],
    *,
    actor: User | None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every licence row, then write them all in one transaction, or write nothing."""
    if actor is not None:
        scope.check_role(actor, Unit, "change")
    result = ImportResult(LicenceSheet.LICENCES, rows=len(raw), header=header, raw=raw)
    positions = column_positions(LicenceSheet.LICENCES, header)
    if not any(f in positions for f in UNIT_REF):
        columns = " / ".join(HEADERS[f] for f in UNIT_REF)
        raise refused(N_("the header lacks required columns: %(columns)s"), columns=columns)
    read = _read(positions, raw, result)
    rows = _resolve(db, read, result, actor)
    if progress:
        progress("check", len(raw), len(raw))
    if result.errors:
        result.errors.sort(key=lambda e: e.row)
        return result
    try:
        changed = _write(db, rows, result, actor)
        record(
            db,
            "ledger.import",
            actor=actor,
            object_type="ledger.licences",
            detail={
                "rows": result.rows,
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    for unit in changed:
        db.expire(unit, ["licences"])
    if progress:
        progress("write", len(rows), len(rows))
    return result


def _read(
    positions: dict[str, int], raw: list[list[Any]], result: ImportResult
) -> list[tuple[int, dict[str, Any]]]:
    """(sheet row, values) of the rows whose cells all read."""
    good = []
    for n, cells in enumerate(raw, start=2):
        by_field = {f: cells[i] if i < len(cells) else None for f, i in positions.items()}
        values, errors = read_cells(LICENCE_COLUMNS, by_field)
        for field, exc in errors:
            result.errors.append(RowError(n, HEADERS[field], exc.message, exc.params))
        if errors:
            continue
        if not values.get("unit_code") and not values.get("credit_code"):
            why = N_("give the unit code or the unit's credit code")
            result.errors.append(RowError(n, HEADERS["unit_code"], why))
            continue
        good.append((n, values))
    return good


def _resolve(
    db: Session,
    read: list[tuple[int, dict[str, Any]]],
    result: ImportResult,
    actor: User | None,
) -> list[_Row]:
    """Each row with its unit (the actor's to change), and no licence named twice."""
    by_code = _units(db, Unit.code, [v["unit_code"] for _, v in read if v["unit_code"]], actor)
    by_credit = _units(
        db, Unit.credit_code, [v["credit_code"] for _, v in read if v["credit_code"]], actor
    )
    rows: list[_Row] = []
    seen: dict[tuple[int, str, str], int] = {}
    for n, values in read:
        unit = _unit_of(n, values, by_code, by_credit, result)
        if unit is None:
            continue
        row = _Row(n, unit, values)
        first = seen.setdefault(row.key, n)
        if first != n:
            why = N_("duplicate key: same as row %(row)s")
            result.errors.append(RowError(n, HEADERS["number"], why, {"row": first}))
            continue
        rows.append(row)
    return rows


def _units(db: Session, column: Any, keys: list[str], actor: User | None) -> dict[str, list[Unit]]:
    """Key → the units the actor may change that have it (retired ones last)."""
    found: dict[str, list[Unit]] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), CHUNK):
        query = select(Unit).where(column.in_(unique[start : start + CHUNK]))
        if actor is not None:
            query = scope.restrict(query, actor, "change", Unit)
        for unit in db.scalars(query.order_by(Unit.retired_at.is_not(None), Unit.id)):
            found.setdefault(getattr(unit, column.key), []).append(unit)
    return found


def _unit_of(
    n: int,
    values: dict[str, Any],
    by_code: dict[str, list[Unit]],
    by_credit: dict[str, list[Unit]],
    result: ImportResult,
) -> Unit | None:
    code, credit = values["unit_code"], values["credit_code"]
    field, why, params = "unit_code", "", {}
    unit = None
    if code:
        unit = next(iter(by_code.get(code, [])), None)
        if unit is None:
            why, params = N_("no unit with this code in your grids: %(value)s"), {"value": code}
        elif credit and unit.credit_code != credit:
            why = N_("the unit code and the credit code name different units")
    else:
        current = [u for u in by_credit.get(credit, []) if u.retired_at is None]
        field, unit = "credit_code", current[0] if len(current) == 1 else None
        if not current:
            why = N_("no unit with this credit code in your grids: %(value)s")
            params = {"value": credit}
        elif len(current) > 1:
            why = N_("%(n)s units have this credit code: give the unit code")
            params = {"n": len(current)}
    if unit is not None and unit.retired_at is not None:
        why = N_("the unit is retired")
    if why:
        result.errors.append(RowError(n, HEADERS[field], why, params))
        return None
    return unit


def _write(db: Session, rows: list[_Row], result: ImportResult, actor: User | None) -> list[Unit]:
    """Add or renew each row's licence; one history row per changed unit. The changed units."""
    now = utcnow()
    held = {(h.unit_id, str(h.kind), h.number): h for h in _licences_of(db, rows)}
    has_current = {r.unit.id: False for r in rows}
    for known in held.values():
        has_current[known.unit_id] |= known.retired_at is None
    changed: dict[int, tuple[Unit, dict[str, Any]]] = {}
    for row in rows:
        kind, number = row.values["kind"], row.values["number"]
        issuer, expires = row.values["issuer"], row.values["expires_on"]
        lic = held.get(row.key)
        if lic is None:
            lic = UnitLicence(
                unit_id=row.unit.id,
                kind=kind,
                number=number,
                is_main=not has_current[row.unit.id],
                created_at=now,
            )
            db.add(lic)
            has_current[row.unit.id] = True
            before: list[Any] = [None, None]
            result.inserted += 1
        elif (lic.issuer, lic.expires_on, lic.retired_at) == (issuer, expires, None):
            result.unchanged += 1
            continue
        else:
            before = [lic.issuer, jsonable(lic.expires_on)]
            result.updated += 1
        lic.issuer, lic.expires_on, lic.retired_at, lic.updated_at = issuer, expires, None, now
        entry = changed.setdefault(row.unit.id, (row.unit, {}))
        entry[1].update(licence_changes(kind, number, before, [issuer, jsonable(expires)]))
    history = []
    for unit, changes in changed.values():
        unit.version += 1
        unit.updated_at = now
        history.append(
            history_row(LedgerKind.UNITS, unit.id, unit.version, "imported", changes, actor, now)
        )
    db.flush()
    for start in range(0, len(history), CHUNK):
        db.execute(insert(CHANGES), history[start : start + CHUNK])
    return [unit for unit, _ in changed.values()]


def _licences_of(db: Session, rows: list[_Row]) -> list[UnitLicence]:
    """The rows' units' licences, retired ones too, read now (not a unit's loaded list)."""
    ids = sorted({r.unit.id for r in rows})
    found: list[UnitLicence] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.extend(db.scalars(select(UnitLicence).where(UnitLicence.unit_id.in_(chunk))))
    return found


def licence_rows(db: Session, user: User | None, territory: str) -> Iterator[tuple[Any, list[Any]]]:
    """(row with the unit's lon and lat, cells) for each current licence of a current unit in a
    grid or division, as the sheet's columns and then ``EXTRA``."""
    query: Any = (
        select(
            Unit.code,
            Unit.credit_code,
            UnitLicence.kind,
            UnitLicence.number,
            UnitLicence.issuer,
            UnitLicence.expires_on,
            Unit.name,
            UnitLicence.is_main,
            Unit.grid_code,
            Unit.lon,
            Unit.lat,
        )
        .join(Unit, Unit.id == UnitLicence.unit_id)
        .where(
            UnitLicence.retired_at.is_(None),
            Unit.retired_at.is_(None),
            Unit.grid_code.startswith(territory, autoescape=True),
        )
        .order_by(Unit.grid_code, Unit.code, UnitLicence.is_main.desc(), UnitLicence.id)
    )
    if user is not None:
        query = scope.restrict(query, user, "view", Unit)
    for row in db.execute(query.execution_options(yield_per=2000)):
        cells = [
            row.code,
            row.credit_code,
            row.kind.label_zh,
            row.number,
            row.issuer,
            row.expires_on.isoformat() if row.expires_on else "",
            row.name,
            "是" if row.is_main else "否",
            row.grid_code,
        ]
        yield row, cells
