"""Importing a ledger kind from XLSX or CSV: every row checked, then all written or none.

A bad file gets an error workbook back: the original rows with one more column saying, per
row, which cell is wrong and why. Rows match existing records by code (or, without a code,
by the normalised address), so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.db.base import utcnow
from civgrid.errors import Invalid
from civgrid.grids.service import locate_many
from civgrid.ledger.actions import (
    OUTSIDE_GRIDS,
    OUTSIDE_JURISDICTION,
    jsonable,
    main_licence_changes,
    row_fields,
    set_main_licence,
)
from civgrid.ledger.models import MODELS, LedgerChange, LedgerKind, UnitLicence
from civgrid.ledger.schemas import COLUMNS, LicenceSheet, Sheet, read_row, sheet_columns
from civgrid.web.i18n import N_, gettext

CHANGES = cast(Table, LedgerChange.__table__)
MAX_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
CHUNK = 5000
ERROR_HEADER = "错误 error"

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class RowError:
    """One bad cell: its 1-based sheet row (the header is row 1), column and why."""

    row: int
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, locale: str = "zh_CN") -> str:
        why = gettext(locale, self.message)
        return f"{self.column}: {why % self.params if self.params else why}"


@dataclass
class ImportResult:
    kind: Sheet
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    raw: list[list[Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class NotASpreadsheet(Invalid):
    pass


def refused(msgid: str, **params: Any) -> Invalid:
    """A 422 whose message is written out, with the msgid and params the pages translate."""
    return Invalid(msgid % params, msgid=msgid, params=params)


# --- reading -------------------------------------------------------------------------------


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the first sheet of an .xlsx, or of a .csv (UTF-8 or GB18030)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise refused(N_("the file is larger than %(limit)s MB"), limit=MAX_BYTES // 2**20)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _read_csv(path.read_bytes())
    elif suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        rows = _read_xlsx(path)
    else:
        raise NotASpreadsheet(N_("not a spreadsheet: use .xlsx or .csv"))
    rows = [r for r in rows if any(str(c).strip() for c in r if c is not None)]
    if not rows:
        raise Invalid(N_("the file is empty"))
    if len(rows) - 1 > MAX_ROWS:
        raise refused(N_("more than %(limit)s rows"), limit=MAX_ROWS)
    return [str(c or "").strip() for c in rows[0]], rows[1:]


def _read_xlsx(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        return list(workbook.get_sheet_by_index(0).to_python(skip_empty_area=False))
    except (CalamineError, ValueError, OSError) as exc:
        raise NotASpreadsheet(N_("not a spreadsheet: use .xlsx or .csv"), reason=str(exc)) from None
    except Exception as exc:  # calamine raises its own types for zip and XML damage
        raise NotASpreadsheet(N_("not a spreadsheet: use .xlsx or .csv"), reason=str(exc)) from None


def _read_csv(data: bytes) -> list[list[Any]]:
    if b"\x00" in data[:4096]:
        raise NotASpreadsheet(N_("not a spreadsheet: use .xlsx or .csv"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise NotASpreadsheet(N_("not a spreadsheet: use .xlsx or .csv"))
    return [list(r) for r in csv.reader(io.StringIO(text))]


def column_positions(kind: Sheet, header: Sequence[str]) -> dict[str, int]:
    """Field → column index, matching the zh header, the en header, both, or the field name."""
    wanted: dict[str, str] = {}
    for col in sheet_columns(kind):
        for name in (col.header, col.zh, col.en, col.field):
            wanted[name.lower()] = col.field
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        key = wanted.get(name.strip().lower())
        if key is not None and key not in found:
            found[key] = i
    missing = [c for c in sheet_columns(kind) if c.required and c.field not in found]
    if missing:
        columns = ", ".join(c.header for c in missing)
        raise refused(N_("the header lacks required columns: %(columns)s"), columns=columns)
    return found


# --- checking ------------------------------------------------------------------------------


def _check_rows(
    kind: LedgerKind, header: list[str], raw: list[list[Any]], result: ImportResult
) -> list[dict[str, Any]]:
    positions = column_positions(kind, header)
    names = {c.field: c.header for c in COLUMNS[kind]}
    read: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, cells in enumerate(raw, start=2):
        by_field = {f: cells[i] if i < len(cells) else None for f, i in positions.items()}
        values, errors = read_row(kind, by_field)
        for f, exc in errors:
            result.errors.append(RowError(n, names[f], exc.message, exc.params))
        if not errors:
            first = seen.setdefault(values["code"], n)
            if first != n:
                result.errors.append(
                    RowError(
                        n, names["code"], N_("duplicate key: same as row %(row)s"), {"row": first}
                    )
                )
        read.append(values)
    return read


def _place_rows(
    db: Session, rows: list[dict[str, Any]], result: ImportResult, actor: User | None
) -> None:
    jurisdiction = scope.Jurisdiction.of(actor) if actor is not None else None
    good = [(n, r) for n, r in enumerate(rows, start=2) if "lon" in r and "lat" in r]
    places = locate_many(db, [r["lon"] for _, r in good], [r["lat"] for _, r in good])
    for (n, row), where in zip(good, places, strict=True):
        if where is None:
            result.errors.append(RowError(n, "经度 longitude / 纬度 latitude", OUTSIDE_GRIDS))
            continue
        if jurisdiction is not None and not jurisdiction.covers_code(where.grid_code):
            result.errors.append(
                RowError(n, "经度 longitude / 纬度 latitude", OUTSIDE_JURISDICTION)
            )
            continue
        row["grid_code"], row["village_code"] = where.grid_code, where.village_code


# --- writing -------------------------------------------------------------------------------


def _existing(db: Session, kind: LedgerKind, codes: list[str]) -> dict[str, Any]:
    model = MODELS[kind]
    found: dict[str, Any] = {}
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        for row in db.execute(select(model.__table__).where(model.code.in_(chunk))).mappings():
            found[row["code"]] = row
    return found


def _write(
    db: Session,
    kind: LedgerKind,
    rows: list[dict[str, Any]],
    result: ImportResult,
    actor: User | None,
    progress: Progress | None,
) -> None:
    model = MODELS[kind]
    table = model.__table__
    now = utcnow()
    existing = _existing(db, kind, [r["code"] for r in rows])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    mains = _main_licences(db, [o["id"] for o in existing.values()], kind)
    licensed: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # code → (row, changes)
    for row in rows:
        fields = row_fields(kind, row) | {
            "grid_code": row["grid_code"],
            "village_code": row["village_code"],
        }
        old = existing.get(row["code"])
        main = mains.get(old["id"]) if old is not None else None
        licence = main_licence_changes(row, main) if kind == LedgerKind.UNITS else {}
        if licence:
            licensed[row["code"]] = (row, licence)
        if old is None:
            inserts.append(fields | {"version": 1, "created_at": now, "updated_at": now})
            continue
        changes = {
            k: [jsonable(old[k]), jsonable(v)]
            for k, v in fields.items()
            if jsonable(old[k]) != jsonable(v)
        } | licence
        if old["retired_at"] is not None:
            changes["retired_at"] = [jsonable(old["retired_at"]), None]
        if not changes:
            result.unchanged += 1
            continue
        version = old["version"] + 1
        updates.append(
            fields | {"_id": old["id"], "version": version, "retired_at": None, "updated_at": now}
        )
        history.append(history_row(kind, old["id"], version, "imported", changes, actor, now))
    ids: dict[str, int] = {}
    adding = insert(table).returning(table.c.id, table.c.code, sort_by_parameter_order=True)
    for start in range(0, len(inserts), CHUNK):
        ids.update((code, rid) for rid, code in db.execute(adding, inserts[start : start + CHUNK]))
        if progress:
            progress("write", min(start + CHUNK, len(inserts)), len(inserts))
    if updates:
        from sqlalchemy import bindparam

        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({k: bindparam(k) for k in updates[0] if k != "_id"})
        )
        db.connection().execute(statement, updates)
    if inserts:
        shown = {c.field for c in COLUMNS[kind]}
        for r in inserts:
            created = {k: [None, jsonable(v)] for k, v in r.items() if k in shown}
            created |= licensed.get(r["code"], ({}, {}))[1]
            history.append(history_row(kind, ids[r["code"]], 1, "imported", created, actor, now))
    for code, (row, _changes) in licensed.items():
        unit_id = ids.get(code) or existing[code]["id"]
        set_main_licence(db, unit_id, row, mains.get(unit_id), now)
    for start in range(0, len(history), CHUNK):
        db.execute(insert(CHANGES), history[start : start + CHUNK])
    result.inserted, result.updated = len(inserts), len(updates)


def _main_licences(db: Session, unit_ids: list[int], kind: LedgerKind) -> dict[int, UnitLicence]:
    """Unit id → its current main licence (the units sheet's licence columns)."""
    if kind != LedgerKind.UNITS:
        return {}
    found: dict[int, UnitLicence] = {}
    for start in range(0, len(unit_ids), CHUNK):
        found.update(
            (lic.unit_id, lic)
            for lic in db.scalars(
                select(UnitLicence).where(
                    UnitLicence.unit_id.in_(unit_ids[start : start + CHUNK]),
                    UnitLicence.is_main.is_(True),
                    UnitLicence.retired_at.is_(None),
                )
            )
        )
    return found


def history_row(
    kind: LedgerKind,
    record_id: int,
    version: int,
    action: str,
    changes: dict[str, Any],
    actor: User | None,
    now: Any,
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "record_id": record_id,
        "version": version,
        "action": action,
        "changes": changes,
        "actor_id": actor.id if actor else None,
        "actor_label": actor.username if actor else "system",
        "at": now,
    }


def import_rows(
    db: Session,
    kind: Sheet,
    header: list[str],
    raw: list[list[Any]],
    *,
    actor: User | None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row, then write them all in one transaction, or write nothing."""
    if isinstance(kind, LicenceSheet):
        from civgrid.ledger.licence_sheet import import_licences  # it builds on this module

        return import_licences(db, header, raw, actor=actor, progress=progress)
    if actor is not None:
        scope.check_role(actor, MODELS[kind], "change")
    result = ImportResult(kind, rows=len(raw), header=header, raw=raw)
    rows = _check_rows(kind, header, raw, result)
    if progress:
        progress("check", len(raw), len(raw))
    _place_rows(db, rows, result, actor)
    if progress:
        progress("place", len(raw), len(raw))
    if result.errors:
        result.errors.sort(key=lambda e: e.row)
        return result
    try:
        _write(db, kind, rows, result, actor, progress)
        record(
            db,
            "ledger.import",
            actor=actor,
            object_type=f"ledger.{kind.value}",
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
    return result


def import_file(
    db: Session,
    kind: Sheet,
    path: Path,
    *,
    actor: User | None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import an .xlsx or .csv file of ``kind`` or of licences (all or nothing)."""
    header, raw = read_table(path)
    return import_rows(db, kind, header, raw, actor=actor, progress=progress)


def write_error_workbook(
    result: ImportResult, out: Path | io.BytesIO, locale: str = "zh_CN"
) -> None:
    """The original rows with an error column naming, per row, the bad cells and why."""
    import xlsxwriter

    by_row: dict[int, list[str]] = {}
    for err in result.errors:
        by_row.setdefault(err.row, []).append(err.text(locale))
    book = xlsxwriter.Workbook(
        out, {"constant_memory": True, "in_memory": isinstance(out, io.BytesIO)}
    )
    sheet = book.add_worksheet("errors")
    red = book.add_format({"font_color": "#b00020", "bold": True})
    sheet.write_row(0, 0, [ERROR_HEADER, *result.header])
    for i, cells in enumerate(result.raw, start=2):
        problems = by_row.get(i)
        sheet.write(i - 1, 0, "；".join(problems) if problems else "", red)
        sheet.write_row(i - 1, 1, [_cell(c) for c in cells])
    book.close()


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def error_lines(result: ImportResult, locale: str = "zh_CN", limit: int = 20) -> Iterable[str]:
    """The first errors, one line each: "row 3, 户数 households: …"."""
    for err in result.errors[:limit]:
        yield f"{gettext(locale, N_('row %(row)s')) % {'row': err.row}}, {err.text(locale)}"
