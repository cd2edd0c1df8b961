"""`civgrid workforce`: the quarterly appraisal export, one sweep pass over patrols."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from civgrid.text import is_digits

app = typer.Typer(help="Workforce: appraisal exports and patrol upkeep.", no_args_is_help=True)
console = Console()


@app.command()
def appraisal(
    quarter: Annotated[str, typer.Option(help="the quarter, e.g. 2026-Q4")],
    division: Annotated[str, typer.Option(help="division or grid code prefix")],
    out: Annotated[Path, typer.Option(help="file to write")],
    format: Annotated[str, typer.Option(help="xlsx or pdf")] = "xlsx",
) -> None:
    """Score the quarter for the workers under DIVISION and write it as XLSX or PDF."""
    from civgrid.db.session import session_factory
    from civgrid.errors import CivgridError
    from civgrid.workforce.appraisal import appraise_quarter, unit_scores
    from civgrid.workforce.export import appraisal_pdf, appraisal_xlsx
    from civgrid.workforce.service import names

    if format not in ("xlsx", "pdf"):
        raise typer.BadParameter(f"--format is xlsx or pdf, not {format!r}")
    if not is_digits(division):
        raise typer.BadParameter(f"--division takes a division code, not {division!r}")
    with session_factory()() as db:
        try:
            rows = appraise_quarter(db, quarter=quarter, division=division, actor=None)
        except CivgridError as exc:
            raise typer.BadParameter(exc.message) from None
        units = unit_scores(db, quarter=quarter, division=division)
        who = names(db, {r.user_id for r in rows})
        data = (
            appraisal_xlsx(rows, who, units, quarter)
            if format == "xlsx"
            else appraisal_pdf(rows, who, units, quarter, division)
        )
    out.write_bytes(data)
    console.print(f"{len(rows)} workers, {len(units)} grids and departments → {out}")
