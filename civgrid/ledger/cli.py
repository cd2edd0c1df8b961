"""`civgrid ledger …`: the Excel template, import, export and the grid book."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from civgrid.errors import CivgridError
from civgrid.ledger.schemas import SHEETS, Sheet, sheet_of
from civgrid.web.i18n import gettext as translate

app = typer.Typer(
    help="The grid ledger: Excel template, import, export, grid book.", no_args_is_help=True
)
console = Console()
KINDS = ", ".join(k.value for k in SHEETS)  # the five kinds and the licences sheet


def _session():  # type: ignore[no-untyped-def]
    from civgrid.db.session import session_factory

    return session_factory()()


def _kind(value: str) -> Sheet:
    try:
        return sheet_of(value)
    except ValueError:
        raise typer.BadParameter(f"KIND is one of: {KINDS}") from None


def _fail(exc: CivgridError) -> None:
    msgid = str(exc.detail.get("msgid") or exc.message)
    params = exc.detail.get("params") or {}
    message = translate("zh_CN", msgid)
    try:
        message = message % params if params else message
    except (KeyError, TypeError, ValueError):
        message = exc.message
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(1)


@app.command("template")
def template_cmd(
    kind: Annotated[str, typer.Argument(help=f"one of: {KINDS}")],
    out: Annotated[Path, typer.Option("--out", help="the .xlsx to write")],
) -> None:
    """Write an import template: zh-CN and en headers, choice lists, an example row."""
    from civgrid.ledger.exporter import write_template

    write_template(_kind(kind), out)
    console.print(f"wrote {out}")


@app.command("import")
def import_cmd(
    kind: Annotated[str, typer.Argument(help=f"one of: {KINDS}")],
    path: Path,
    errors: Annotated[
        Path | None,
        typer.Option(help="where to write the error workbook (default: beside the file)"),
    ] = None,
) -> None:
    """Import an .xlsx or .csv (all or nothing; an error workbook if any row is bad)."""
    from civgrid.ledger.importer import error_lines, import_file, write_error_workbook

    ledger_kind = _kind(kind)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with _session() as db, Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = import_file(db, ledger_kind, path, actor=None, progress=progress)
        except CivgridError as exc:
            _fail(exc)
            return
    if not result.ok:
        target = errors or path.with_name(f"{path.stem}.errors.xlsx")
        write_error_workbook(result, target)
        for line in error_lines(result):
            console.print(f"[red]{line}[/red]")
        console.print(f"[red]{len(result.errors)} errors; nothing imported; see {target}[/red]")
        raise typer.Exit(1)
    console.print(
        f"{result.rows} rows: {result.inserted} added, {result.updated} updated,"
        f" {result.unchanged} unchanged"
    )


@app.command("export")
def export_cmd(
    kind: Annotated[str, typer.Argument(help=f"one of: {KINDS}")],
    out: Annotated[Path, typer.Option("--out", help=".xlsx, .csv or .gpkg")],
    division: Annotated[str, typer.Option(help="division code")] = "",
    grid: Annotated[str, typer.Option(help="grid code")] = "",
) -> None:
    """Export a kind's current records in a division or grid."""
    from civgrid.ledger.exporter import export_file

    with _session() as db:
        try:
            count = export_file(db, _kind(kind), out, territory=grid or division)
        except CivgridError as exc:
            _fail(exc)
            return
    console.print(f"wrote {count} records to {out}")


@app.command("book")
def book_cmd(
    grid: Annotated[str, typer.Argument(help="grid code")],
    out: Annotated[Path, typer.Option("--out", help="the .pdf to write")],
) -> None:
    """Write a grid's book (网格台账册): an A4 PDF for field use."""
    from datetime import datetime

    from sqlalchemy import select

    from civgrid.config import get_settings
    from civgrid.grids.models import Grid
    from civgrid.ledger.book import build_book

    with _session() as db:
        found = db.scalar(select(Grid).where(Grid.code == grid, Grid.valid_to.is_(None)))
        if found is None:
            console.print(f"[red]grid {grid} not found[/red]")
            raise typer.Exit(1)
        today = datetime.now(get_settings().tz).date()
        out.write_bytes(build_book(db, found, today=today))
    console.print(f"wrote {out}")


@app.command("check")
def check_cmd(
    prefix: Annotated[str, typer.Argument(help="division code (township or village)")] = "",
) -> None:
    """Grids whose ledger household count is outside the band, and filed vs ledger counts."""
    from sqlalchemy import select

    from civgrid.grids.models import Grid
    from civgrid.ledger.service import ledger_checks, ledger_households

    with _session() as db:
        reports = ledger_checks(db, prefix)
        ledger = ledger_households(db)
        filed = dict(db.execute(select(Grid.code, Grid.households).where(Grid.valid_to.is_(None))))
    for village, report in reports.items():
        outside = " ".join(report.out_of_band) or "—"
        console.print(f"{village}: out of the band by the ledger: {outside}")
    for code in sorted(c for c in filed if c.startswith(prefix)):
        if filed[code] != ledger.get(code, 0):
            console.print(f"  {code}: filed {filed[code]}, ledger {ledger.get(code, 0)}")
