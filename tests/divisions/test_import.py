"""Importing NBS division codes: five levels, idempotent, closing not deleting, bad input."""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.divisions.importer import DivisionFileError, import_divisions
from civgrid.divisions.models import Division
from tests.conftest import FIXTURES

SRC = FIXTURES / "divisions"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "div"
    shutil.copytree(SRC, out)
    return out


def _count(db: Session, prefix: str = "", current: bool = True) -> int:
    q = select(func.count()).select_from(Division).where(Division.code.startswith(prefix))
    if current:
        q = q.where(Division.valid_to.is_(None))
    return db.scalar(q) or 0


def test_base_import_has_all_levels(db: Session) -> None:
    levels = dict(db.execute(select(Division.level, func.count()).group_by(Division.level)).all())
    assert levels == {"province": 2, "city": 2, "county": 2, "township": 3, "village": 35}
    assert db.get(Division, "441900101002").parent_code == "441900101"


def test_reimport_is_idempotent(db: Session) -> None:
    result = import_divisions(db, SRC, as_of=date(2024, 1, 1))
    assert (result.inserted, result.renamed, result.closed, result.reopened) == (0, 0, 0, 0)
    assert result.unchanged == result.read == 44
    assert db.get(Division, "441900101002").valid_from == date(2023, 6, 30)


def test_missing_code_is_closed_and_reopened(db: Session, folder: Path) -> None:
    villages = folder / "villages.csv"
    lines = villages.read_text(encoding="utf-8").splitlines(keepends=True)
    villages.write_text(
        "".join(line for line in lines if not line.startswith("441900101213")), encoding="utf-8"
    )
    result = import_divisions(db, folder, as_of=date(2024, 6, 30))
    assert result.closed == 1
    closed = db.get(Division, "441900101213")
    assert closed is not None, "closed, never deleted"
    assert closed.valid_to == date(2024, 6, 30)
    result = import_divisions(db, SRC, as_of=date(2025, 6, 30))
    assert result.reopened == 1
    assert db.get(Division, "441900101213").valid_to is None


def test_rename_is_updated(db: Session, folder: Path) -> None:
    villages = folder / "villages.csv"
    villages.write_text(
        villages.read_text(encoding="utf-8").replace("唐洪村村民委员会", "唐洪社区居民委员会"),
        encoding="utf-8",
    )
    result = import_divisions(db, folder, as_of=date(2024, 6, 30))
    assert result.renamed == 1
    assert db.get(Division, "441900101200").name == "唐洪社区居民委员会"


def test_province_filter_does_not_close_other_provinces(db: Session) -> None:
    result = import_divisions(db, SRC, prefix="44", as_of=date(2024, 1, 1))
    assert result.read == 30  # 1 province, 1 city, 1 county, 2 towns, 25 villages
    assert result.closed == 0
    assert _count(db, "11") == 14


def test_gzipped_files_are_read(db: Session, tmp_path: Path) -> None:
    out = tmp_path / "gz"
    out.mkdir()
    for path in SRC.glob("*.csv"):
        (out / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
    assert import_divisions(db, out, as_of=date(2024, 1, 1)).unchanged == 44


def _corrupt(folder: Path, line_no: int, new: bytes) -> None:
    path = folder / "villages.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[line_no - 1] = new
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            b'4419001012,"short",441900101,44,4419,441900\n',
            "villages.csv line 5: code '4419001012' is not 12 digits",
        ),
        (
            b'44190010120X,"x",441900101,44,4419,441900\n',
            "villages.csv line 5: code '44190010120X' is not 12 digits",
        ),
        (
            b'441900101299,"",441900101,44,4419,441900\n',
            "villages.csv line 5: code 441900101299 has an empty name",
        ),
        (b"441900101299\n", "villages.csv line 5: expected 3 columns, got 1"),
        (
            b'441900101299,"x",441900102,44,4419,441900\n',
            "villages.csv line 5: parent '441900102' does not match",
        ),
        (b'441900101299,"\xff\xfe",441900101,44,4419,441900\n', "villages.csv line 5: not UTF-8"),
    ],
)
def test_malformed_rows_are_reported_with_line_and_nothing_written(
    db: Session, folder: Path, line: bytes, message: str
) -> None:
    _corrupt(folder, 5, line)
    (folder / "villages.csv").write_bytes(
        (folder / "villages.csv").read_bytes() + b'441900101298,"new",441900101,44,4419,441900\n'
    )
    before = _count(db, current=False)
    with pytest.raises(DivisionFileError) as exc:
        import_divisions(db, folder, as_of=date(2024, 1, 1))
    assert message in str(exc.value)
    assert "nothing was written" in str(exc.value)
    assert _count(db, current=False) == before
    assert db.get(Division, "441900101298") is None


def test_orphan_and_missing_file_are_reported(db: Session, folder: Path) -> None:
    streets = folder / "streets.csv"
    streets.write_text(
        "".join(
            ln
            for ln in streets.read_text(encoding="utf-8").splitlines(True)
            if "441900102" not in ln
        ),
        encoding="utf-8",
    )
    with pytest.raises(DivisionFileError, match="parent 441900102 is not in the files"):
        import_divisions(db, folder, as_of=date(2024, 1, 1))
    (folder / "cities.csv").unlink()
    with pytest.raises(DivisionFileError, match="no cities.csv"):
        import_divisions(db, folder, as_of=date(2024, 1, 1))


def test_cli_reports_errors_with_exit_code(folder: Path, engine) -> None:
    from typer.testing import CliRunner

    from civgrid.cli import app

    _corrupt(folder, 3, b"123,bad\n")
    result = CliRunner().invoke(app, ["divisions", "import", str(folder)])
    assert result.exit_code == 2
    assert "villages.csv line 3" in result.output
