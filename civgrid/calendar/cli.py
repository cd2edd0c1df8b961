"""`civgrid calendar …` commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civgrid.calendar.service import get_calendar, local_edits, official_days
from civgrid.calendar.units import TimeUnit
from civgrid.db.session import session_factory

app = typer.Typer(help="Working calendar: holidays, make-up days, deadlines.", no_args_is_help=True)
console = Console()


@app.command("show")
def show(year: int) -> None:
    """The days off and make-up working days of a year (local edits marked)."""
    with session_factory()() as db:
        edits = {e.day: e for e in local_edits(db, year)}
    table = Table("date", "weekday", "kind", "name", "source")
    days = {
        d: (o.kind, o.name_zh, "official") for d, o in official_days().items() if d.year == year
    }
    days.update({d: (e.kind, e.name, "local") for d, e in edits.items()})
    for d in sorted(days):
        kind, name, source = days[d]
        table.add_row(d.isoformat(), d.strftime("%a"), kind.label_zh, name, source)
    console.print(table)


@app.command("deadline")
def deadline(
    start: Annotated[
        str, typer.Argument(help="ISO start with offset, e.g. 2026-09-30T16:00+08:00")
    ],
    amount: float,
    unit: TimeUnit,
) -> None:
    """Compute a deadline on the deployment's calendar."""
    begin = datetime.fromisoformat(start)
    if begin.tzinfo is None:
        raise typer.BadParameter("start needs a UTC offset, e.g. +08:00")
    with session_factory()() as db:
        cal = get_calendar(db)
    console.print(cal.deadline(begin, amount, unit).astimezone(cal.tz).isoformat())
