"""`civgrid divisions …` commands."""

from __future__ import annotations

from datetime import date
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

from civgrid.config import get_settings
from civgrid.db.session import session_factory
from civgrid.divisions.importer import DivisionFileError, import_divisions
from civgrid.text import is_digits

app = typer.Typer(help="Administrative divisions (统计用区划代码).", no_args_is_help=True)
console = Console()


@app.command("import")
def import_command(
    folder: Annotated[
        Path, typer.Argument(help="folder with provinces/cities/areas/streets/villages CSV")
    ],
    province: Annotated[str, typer.Option(help="only codes under this prefix, e.g. 44")] = "",
    as_of: Annotated[
        str, typer.Option(help="date the list takes effect (YYYY-MM-DD); today by default")
    ] = "",
) -> None:
    """Import or re-import the NBS division codes, all five levels, in one transaction."""
    if province and not is_digits(province):
        raise typer.BadParameter("--province must be a numeric code prefix such as 44")
    effective = date.fromisoformat(as_of) if as_of else _today()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(
                    "reading files" if stage == "read" else "writing rows", total=total
                )
            bar.update(tasks[stage], completed=done, total=total)

        with session_factory()() as db:
            try:
                result = import_divisions(
                    db, folder, prefix=province, as_of=effective, progress=progress
                )
            except DivisionFileError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
    console.print(
        f"read {result.read:,}: {result.inserted:,} new, {result.renamed:,} renamed, "
        f"{result.reopened:,} reopened, {result.closed:,} closed, {result.unchanged:,} unchanged"
    )


def _today() -> date:
    from datetime import datetime

    return datetime.now(get_settings().tz).date()
