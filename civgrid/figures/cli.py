"""`civgrid figures`: rebuild the rollups, write a report, keep the scheduled reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Command figures: rollups and reports.", no_args_is_help=True)
console = Console()


@app.command()
def rebuild(
    since: Annotated[
        str | None, typer.Option(help="first local day to rebuild, 2026-11-01")
    ] = None,
) -> None:
    """Recompute the rollups from the case events (all days, or from --since)."""
    from civgrid.db.session import session_factory
    from civgrid.figures.actions import rebuild as run

    try:
        first = date.fromisoformat(since) if since else None
    except ValueError:
        raise typer.BadParameter(f"--since takes a date like 2026-11-01, not {since!r}") from None
    with session_factory()() as db, _chunks_bar() as bar:
        task = bar.add_task("figure_counts", total=None)
        built = run(
            db,
            since=first,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"rollups rebuilt{' from ' + str(first) if first else ''} up to {built.until}: "
        f"{built.cases} cases, {built.rows} rows"
    )


def _chunks_bar() -> Progress:
    """A progress bar over the rebuild's chunks of cases."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def refresh_rollups(out: Console) -> None:
    """Bring the rollups up to today (the sweep's second half)."""
    from civgrid.db.session import session_factory
    from civgrid.figures.actions import refresh

    with session_factory()() as db:
        built = refresh(db)
    out.print(f"figures: rollups up to {built.until} ({built.cases} cases read)")


@app.command()
def report(
    division: Annotated[str, typer.Option(help="division code: 441900101, 441900 …")],
    period: Annotated[str, typer.Option(help="2026-Q4, 2026-11, 2026-W48 …")],
    out: Annotated[Path, typer.Option(help="the file to write")],
    format: Annotated[str, typer.Option(help="html, pdf or xlsx")] = "pdf",
    locale: Annotated[str, typer.Option(help="zh_CN or en")] = "zh_CN",
) -> None:
    """Write the report of a division for a period."""
    from civgrid.db.session import session_factory
    from civgrid.errors import CivgridError
    from civgrid.figures import report as reports
    from civgrid.figures.dashboard import kind_of
    from civgrid.figures.periods import Period
    from civgrid.figures.units import unit_for

    if format not in ("html", "pdf", "xlsx"):
        raise typer.BadParameter(f"--format is html, pdf or xlsx, not {format!r}")
    try:
        with session_factory()() as db:
            unit = unit_for(db, kind_of(division), division)
            figures = reports.build(db, unit, Period.parse(period), locale=locale)
            out.write_bytes(reports.render(figures, format))
    except CivgridError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{out}: {figures.name} {figures.period.label} ({format})")


@app.command()
def send() -> None:
    """Keep the due weekly, monthly and quarterly reports (run from cron: Monday 07:00)."""
    from civgrid.db.session import session_factory
    from civgrid.figures.kept import send as run

    with session_factory()() as db:
        made = run(db)
    console.print(f"kept {len(made)} new report files")
