"""Importing the NBS statistical division codes (统计用区划代码) from CSV files.

The folder holds ``provinces``, ``cities``, ``areas``, ``streets`` and ``villages`` as
``.csv`` or ``.csv.gz`` (the layout of modood/Administrative-divisions-of-China). The whole
import is one transaction: a bad row anywhere stops it before anything is written.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth.models import User
from civgrid.divisions.models import CODE_LENGTHS, Division, DivisionLevel
from civgrid.text import is_digits

FILES: tuple[tuple[DivisionLevel, str], ...] = (
    (DivisionLevel.PROVINCE, "provinces"),
    (DivisionLevel.CITY, "cities"),
    (DivisionLevel.COUNTY, "areas"),
    (DivisionLevel.TOWNSHIP, "streets"),
    (DivisionLevel.VILLAGE, "villages"),
)
DEPTH = {level: i + 1 for i, (level, _) in enumerate(FILES)}
MAX_REPORTED_ERRORS = 20
BATCH = 5000

Progress = Callable[[str, int, int], None]


class DivisionFileError(ValueError):
    """The division files are malformed; ``errors`` lists each problem with its line."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f"\n… and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(
            "division import refused, nothing was written:\n" + "\n".join(shown) + more
        )
        self.errors = errors


@dataclass
class ImportResult:
    read: int = 0
    inserted: int = 0
    renamed: int = 0
    closed: int = 0
    reopened: int = 0
    unchanged: int = 0
    by_level: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.csv.gz", folder / f"{stem}.csv"):
        if candidate.exists():
            return candidate
    raise DivisionFileError([f"{folder}: no {stem}.csv or {stem}.csv.gz"])


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:  # type: ignore[operator]
            for number, raw in enumerate(fh, start=1):
                try:
                    yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise DivisionFileError(
                        [f"{path.name} line {number}: not UTF-8 ({exc.reason} at byte {exc.start})"]
                    ) from None
    except (OSError, EOFError) as exc:
        raise DivisionFileError([f"{path.name}: cannot read ({exc})"]) from None


def read_level(path: Path, level: DivisionLevel, prefix: str, errors: list[str]) -> list[Row]:
    """Parse one level's file, keeping rows under ``prefix``; problems go to ``errors``."""
    length = CODE_LENGTHS[level]
    parent_length = CODE_LENGTHS[FILES[DEPTH[level] - 2][0]] if DEPTH[level] > 1 else 0
    reader = csv.reader(_lines(path))
    header = next(reader, None)
    if not header or header[0].strip() != "code" or len(header) < 2:
        errors.append(f"{path.name} line 1: expected a header starting 'code,name', got {header!r}")
        return []
    rows: list[Row] = []
    for fields in reader:
        where = f"{path.name} line {reader.line_num}"
        if len(fields) < (3 if parent_length else 2):
            errors.append(
                f"{where}: expected {3 if parent_length else 2} columns, got {len(fields)}"
            )
            continue
        code, name = fields[0].strip(), fields[1].strip()
        if len(code) != length or not is_digits(code):
            errors.append(f"{where}: code {code!r} is not {length} digits")
            continue
        if not name:
            errors.append(f"{where}: code {code} has an empty name")
            continue
        parent = fields[2].strip() if parent_length else None
        if parent is not None and parent != code[:parent_length]:
            errors.append(f"{where}: parent {parent!r} does not match code {code}")
            continue
        if code.startswith(prefix) or prefix.startswith(code):
            rows.append(Row(code, name, level, parent))
    return rows


def read_folder(folder: Path, prefix: str = "", progress: Progress | None = None) -> list[Row]:
    """Read and check all five levels; raises :class:`DivisionFileError` listing every problem."""
    errors: list[str] = []
    rows: list[Row] = []
    for i, (level, stem) in enumerate(FILES):
        rows.extend(read_level(_find(folder, stem), level, prefix, errors))
        if progress:
            progress("read", i + 1, len(FILES))
    known = {r.code for r in rows}
    for r in rows:
        if r.parent_code and r.parent_code not in known and r.parent_code.startswith(prefix):
            errors.append(f"{r.level} {r.code}: parent {r.parent_code} is not in the files")
    if errors:
        raise DivisionFileError(errors)
    return rows


def import_divisions(
    db: Session,
    folder: Path,
    *,
    prefix: str = "",
    as_of: date,
    actor: User | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import (or re-import) the codes under ``prefix``, in one transaction.

    New codes are inserted valid from ``as_of``; renamed codes are updated; a current code
    that the files no longer list is closed with ``valid_to = as_of``, never deleted; a closed
    code that reappears is reopened.
    """
    rows = read_folder(folder, prefix, progress)
    result = ImportResult(read=len(rows))
    existing = {
        code: (name, valid_to)
        for code, name, valid_to in db.execute(
            select(Division.code, Division.name, Division.valid_to).where(
                Division.code.startswith(prefix, autoescape=True)
            )
        )
    }
    inserts, renames, reopen = [], [], []
    for r in rows:
        result.by_level[r.level] = result.by_level.get(r.level, 0) + 1
        old = existing.get(r.code)
        if old is None:
            inserts.append(
                {
                    "code": r.code,
                    "name": r.name,
                    "level": r.level,
                    "depth": DEPTH[r.level],
                    "parent_code": r.parent_code,
                    "valid_from": as_of,
                    "valid_to": None,
                }
            )
        elif old[1] is not None:
            reopen.append({"code": r.code, "name": r.name, "valid_to": None})
        elif old[0] != r.name:
            renames.append({"code": r.code, "name": r.name})
    listed = {r.code for r in rows}
    closes = [
        {"code": code, "valid_to": as_of}
        for code, (_name, valid_to) in existing.items()
        if valid_to is None and code not in listed
    ]
    total = len(inserts) + len(renames) + len(reopen) + len(closes)
    done = 0
    for statement, batch_rows in (
        (insert(Division), inserts),
        (update(Division), renames + reopen + closes),
    ):
        for start in range(0, len(batch_rows), BATCH):
            chunk = batch_rows[start : start + BATCH]
            db.execute(statement, chunk)
            done += len(chunk)
            if progress:
                progress("write", done, total)
    result.inserted, result.renamed = len(inserts), len(renames)
    result.reopened, result.closed = len(reopen), len(closes)
    result.unchanged = result.read - result.inserted - result.renamed - result.reopened
    record(
        db,
        "division.import",
        actor=actor,
        object_type="division",
        object_id=prefix,
        detail={"folder": str(folder), "as_of": as_of.isoformat(), **result.__dict__},
    )
    db.commit()
    return result
