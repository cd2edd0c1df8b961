"""``civgrid grids propose``: divide a village from files and write the proposal and report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from shapely.geometry.base import BaseGeometry

from civgrid.config import get_settings
from civgrid.errors import CivgridError, Invalid
from civgrid.grids.checks import ProtectedSite
from civgrid.planning.divide import Proposal, divide_village
from civgrid.planning.inputs import (
    BAND_RURAL,
    Unit,
    boundary_around,
    check_band,
    parse_band,
    repair_units,
)
from civgrid.planning.report import check_proposal, proposal_report, write_proposals

app = typer.Typer(help="Automatic grid division (网格自动划分).", no_args_is_help=True)
console = Console()


@app.command("propose")
def propose(
    village: Annotated[str, typer.Option(help="12-digit village code")],
    units: Annotated[Path, typer.Option(help="buildings/blocks/parcels with households")],
    band: Annotated[
        str | None, typer.Option(help="household band MIN:MAX (default: the configured band)")
    ] = None,
    rural: Annotated[bool, typer.Option(help="rural band (around 300 households)")] = False,
    roads: Annotated[Path | None, typer.Option(help="road and river lines")] = None,
    protected: Annotated[Path | None, typer.Option(help="protected sites kept whole")] = None,
    boundary: Annotated[
        str | None,
        typer.Option(
            help="village boundary file, or 'around' to enclose the units "
            "(default: the boundary stored for the village)"
        ),
    ] = None,
    households_field: Annotated[str, typer.Option(help="household count attribute")] = "households",
    id_field: Annotated[str, typer.Option(help="unit id attribute (default: feature number)")] = "",
    name_field: Annotated[str, typer.Option(help="protected site name attribute")] = "name",
    kind: Annotated[str, typer.Option(help="grid kind of the proposal")] = "comprehensive",
    out: Annotated[Path, typer.Option(help="proposal file (.geojson or .gpkg)")] = Path(
        "proposal.geojson"
    ),
    report: Annotated[Path, typer.Option(help="report file (JSON)")] = Path("report.json"),
) -> None:
    """Propose grids for a village: balanced, contiguous, compact, along roads, sites whole."""
    try:
        _propose(
            village,
            units,
            _band(band, rural),
            roads,
            protected,
            boundary,
            households_field,
            id_field,
            name_field,
            kind,
            out,
            report,
        )
    except CivgridError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        problems: list[str] = list(exc.detail.get("problems") or [])  # type: ignore[call-overload]
        for problem in problems[20:]:
            console.print(f"  {problem}")
        raise typer.Exit(1) from exc


def _propose(
    village: str,
    units_path: Path,
    band: tuple[int, int],
    roads_path: Path | None,
    protected_path: Path | None,
    boundary_arg: str | None,
    households_field: str,
    id_field: str,
    name_field: str,
    kind: str,
    out: Path,
    report_path: Path,
) -> None:
    from civgrid.grids.gis import read_layer

    units = read_units(units_path, households_field, id_field)
    roads = [g for _l, g, _a in read_layer(roads_path)] if roads_path else []
    sites = [
        ProtectedSite(str(a.get(name_field) or label), g)
        for label, g, a in (read_layer(protected_path) if protected_path else [])
    ]
    boundary = _boundary(village, boundary_arg, units)
    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("dividing", total=1.0)

        def tick(step: str, done: float) -> None:
            bar.update(task, completed=done, description=step)

        proposal = divide_village(
            village,
            boundary,
            units,
            roads=roads,
            protected=sites,
            band=band,
            kind=kind,
            digits=get_settings().grid_sequence_digits,
            progress=tick,
        )
        bar.update(task, description="checks")
        checks = check_proposal(proposal, boundary, roads=roads, protected=sites)
        bar.update(task, completed=1.0, description="done")
    write_proposals(out, [proposal])
    data = proposal_report(proposal, checks)
    report_path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    _summary(proposal, data)
    console.print(f"proposal: {out}   report: {report_path}")


def _band(text: str | None, rural: bool) -> tuple[int, int]:
    if text:
        return parse_band(text)
    if rural:
        return BAND_RURAL
    s = get_settings()
    return check_band((s.grid_households_min, s.grid_households_max))


def read_units(path: Path, households_field: str, id_field: str = "") -> list[Unit]:
    """Units from a GIS file; a missing household attribute is an error naming the file."""
    from civgrid.grids.gis import read_layer

    rows = read_layer(path, keep_empty=True)
    if rows and households_field not in rows[0][2]:
        fields = ", ".join(rows[0][2]) or "none"
        raise Invalid(f"{path.name}: no {households_field!r} attribute (fields: {fields})")
    return [
        Unit(str(a.get(id_field)) if id_field else str(i + 1), g, _count(a.get(households_field)))
        for i, (_label, g, a) in enumerate(rows)
    ]


def _count(value: Any) -> Any:
    # Missing or unreadable counts are kept as None so that validation names the unit.
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _boundary(village: str, arg: str | None, units: list[Unit]) -> BaseGeometry:
    from civgrid.grids.gis import read_layer

    if arg == "around":
        return boundary_around([u.geometry for u in repair_units(units)[0]])
    if arg:
        from shapely import union_all

        return union_all([g for _l, g, _a in read_layer(Path(arg))])
    from civgrid.db.session import session_factory
    from civgrid.grids.geo import from_text
    from civgrid.grids.service import village_boundary

    with session_factory()() as db:
        row = village_boundary(db, village)
        if row is None:
            raise Invalid(
                f"no boundary is stored for village {village}: pass --boundary FILE "
                "(or --boundary around)"
            )
        return from_text(row.geometry)


def _summary(proposal: Proposal, data: dict[str, Any]) -> None:
    s = data["summary"]
    table = Table("grids", "households", "in band", "contiguous", "PP median", "checks", "seconds")
    table.add_row(
        str(s["grids"]),
        str(s["households"]),
        f"{s['in_band_share']:.0%}",
        f"{s['contiguous_share']:.0%}",
        f"{s['polsby_popper_median']:.2f}",
        "ok" if s["checks_ok"] else "see report",
        f"{proposal.seconds:.1f}",
    )
    console.print(table)
    for e in proposal.explanations:
        console.print(f"  [yellow]{e.reason}[/yellow]: {e.message}")
    notes = proposal.notes
    if notes.skipped or notes.repaired:
        console.print(
            f"input: {len(notes.skipped)} feature(s) skipped, {len(notes.repaired)} repaired "
            "(listed in the report)"
        )
        for line in (notes.skipped + notes.repaired)[:10]:
            console.print(f"  {line}")
