"""`civgrid grids …`: import, export, checks, locate, renumber, overlays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from civgrid.errors import CivgridError

app = typer.Typer(
    help="Grids: GIS import/export, division checks, point location.", no_args_is_help=True
)
overlays_app = typer.Typer(
    help="Overlay layers (police service areas, sanitation zones …).", no_args_is_help=True
)
app.add_typer(overlays_app, name="overlays")
features_app = typer.Typer(
    help="Roads, rivers and protected sites of the territory (checks, planner, map context).",
    no_args_is_help=True,
)
app.add_typer(features_app, name="features")
console = Console()


def _session():  # type: ignore[no-untyped-def]
    from civgrid.db.session import session_factory

    return session_factory()()


def _fail(exc: CivgridError) -> None:
    """Print the error and every problem it names, in the deployment's language."""
    console.print(f"[red]{escape(_localized(exc.template, exc.detail))}[/red]", highlight=False)
    problems, warnings = exc.detail.get("problems"), exc.detail.get("warnings")
    if isinstance(problems, list):
        for p in problems:
            console.print(f"  • {escape(_localized(p['msgid'], p['params']))}", highlight=False)
        for w in warnings if isinstance(warnings, list) else []:
            text = escape(_localized(w["msgid"], w["params"]))
            console.print(f"  [yellow]• {text}[/yellow]", highlight=False)
    else:
        errors = exc.detail.get("errors", [])
        for line in errors if isinstance(errors, list) else []:
            console.print(f"  • {escape(str(line))}", highlight=False)
    raise typer.Exit(1)


def _localized(msgid: str, params: Any) -> str:
    from civgrid.config import get_settings
    from civgrid.web.i18n import gettext

    template = gettext(get_settings().default_locale, msgid)
    try:
        return template % params if params and "%(" in template else template
    except (KeyError, TypeError, ValueError):
        return msgid % params if params and "%(" in msgid else msgid


@app.command("import")
def import_cmd(
    path: Path,
    code: Annotated[
        str, typer.Option(help="attribute holding the grid code ('' to assign)")
    ] = "code",
    name: Annotated[str, typer.Option(help="attribute holding the name")] = "name",
    households: Annotated[str, typer.Option(help="attribute holding households")] = "households",
    village: Annotated[str, typer.Option(help="attribute holding the village code")] = "",
    population: Annotated[str, typer.Option(help="attribute holding population")] = "",
    layer: Annotated[str | None, typer.Option(help="layer inside a GeoPackage")] = None,
    crs: Annotated[
        str | None, typer.Option(help="override the file's CRS (e.g. EPSG:4547, GCJ-02)")
    ] = None,
    allow_warnings: Annotated[
        bool,
        typer.Option(
            "--allow-warnings",
            help="import despite soft-rule warnings (household band, split sites, shape, "
            "no village boundary on file); hard rules always refuse",
        ),
    ] = False,
) -> None:
    """Import grids from GeoJSON, GeoPackage or Shapefile (all or nothing, checked first)."""
    from civgrid.grids.gis import ColumnMapping, import_grids

    mapping = ColumnMapping(
        code=code, name=name, households=households, village=village, population=population
    )
    with _session() as db:
        try:
            result = import_grids(
                db, path, mapping, actor=None, layer=layer, crs=crs, allow_warnings=allow_warnings
            )
        except CivgridError as exc:
            _fail(exc)
            return
    for line in result.repaired:
        console.print(f"[yellow]{escape(line)}[/yellow]", highlight=False)
    for w in result.warnings:
        text = escape(_localized(w.msgid, w.params))
        console.print(f"[yellow]{text}[/yellow]", highlight=False)
    console.print(f"imported {len(result.grids)} grids from {path.name}")


@app.command("export")
def export_cmd(
    path: Path,
    prefix: Annotated[str, typer.Option(help="division code prefix")] = "",
    crs: Annotated[str, typer.Option(help="target CRS")] = "EPSG:4326",
) -> None:
    """Export the current grids; the suffix picks the format (.geojson, .gpkg, .shp)."""
    from civgrid.grids.gis import export_grids

    with _session() as db:
        try:
            count = export_grids(db, path, prefix=prefix, crs=crs)
        except CivgridError as exc:
            _fail(exc)
            return
    console.print(f"wrote {count} grids to {path}")


@app.command("check")
def check_cmd(
    prefix: Annotated[str, typer.Argument(help="division code (township or village)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
) -> None:
    """Run the six division checks per village and per grid."""
    from civgrid.grids.service import check_territory

    with _session() as db:
        reports = check_territory(db, prefix)
    if as_json:
        print(
            json.dumps({v: r.to_dict() for v, r in reports.items()}, ensure_ascii=False, indent=1)
        )
        return
    table = Table(
        "village",
        "grids",
        "gap m²",
        "overlap m²",
        "crossing",
        "out of band",
        "along roads",
        "split sites",
    )
    for village, r in reports.items():
        table.add_row(
            village,
            str(len(r.grids)),
            f"{r.gap_area_m2:.1f}",
            f"{r.overlap_area_m2:.1f}",
            " ".join(r.crossing) or "—",
            " ".join(r.out_of_band) or "—",
            f"{r.road_share:.0%}",
            ", ".join(r.split_sites) or "—",
        )
    console.print(table)


@app.command("locate")
def locate_cmd(
    lon: float,
    lat: float,
    gcj02: Annotated[bool, typer.Option("--gcj02", help="the point is in GCJ-02")] = False,
) -> None:
    """Which grid, division chain and overlay areas a point falls in."""
    from civgrid.grids.geo import gcj02_to_wgs84
    from civgrid.grids.service import OUTSIDE_SERVICE_AREA, locate_point

    if gcj02:
        lon, lat = gcj02_to_wgs84(lon, lat)
    with _session() as db:
        loc = locate_point(db, lon, lat)
    print(
        json.dumps(
            loc.to_dict() if loc else {"inside": False, "detail": OUTSIDE_SERVICE_AREA},
            ensure_ascii=False,
        )
    )


@app.command("renumber")
def renumber_cmd(village: str) -> None:
    """Renumber a village's grids: rows north→south, west→east within a row."""
    from civgrid.grids.actions import renumber_village

    with _session() as db:
        try:
            changed = renumber_village(db, village, actor=None)
        except CivgridError as exc:
            _fail(exc)
            return
    for old, new in changed.items():
        console.print(f"{old} → {new}")
    console.print(f"{len(changed)} codes changed")


@overlays_app.command("import")
def overlays_import(
    layer_code: str,
    layer_name: str,
    path: Path,
    code: Annotated[str, typer.Option(help="attribute holding the area code")] = "code",
    name: Annotated[str, typer.Option(help="attribute holding the area name")] = "name",
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    crs: Annotated[str | None, typer.Option(help="override the file's CRS")] = None,
) -> None:
    """Create or replace an overlay layer from a GIS file and map it onto grids."""
    from civgrid.grids.gis import read_layer
    from civgrid.grids.overlays import import_overlay_layer

    with _session() as db:
        try:
            features = read_layer(path, crs=crs)
            areas = [(str(a.get(code, "")), str(a.get(name, "")), g) for _l, g, a in features]
            layer = import_overlay_layer(
                db,
                code=layer_code,
                name=layer_name,
                areas=areas,
                department_code=department,
                actor=None,
            )
        except CivgridError as exc:
            _fail(exc)
            return
        console.print(f"overlay layer {layer.code}: {len(layer.areas)} areas")


@overlays_app.command("list")
def overlays_list() -> None:
    """The overlay layers and their area counts."""
    from sqlalchemy import select

    from civgrid.grids.models import OverlayLayer

    with _session() as db:
        for layer in db.scalars(select(OverlayLayer).order_by(OverlayLayer.code)):
            console.print(f"{layer.code:<16} {layer.name}  ({len(layer.areas)} areas)")


@features_app.command("import")
def features_import(
    territory: Annotated[str, typer.Argument(help="division code the features are filed under")],
    path: Path,
    kind: Annotated[
        str | None, typer.Option(help="road, river or protected for every feature")
    ] = None,
    kind_field: Annotated[str, typer.Option(help="attribute holding the kind")] = "kind",
    name_field: Annotated[str, typer.Option(help="attribute holding the name")] = "name",
    layer: Annotated[str | None, typer.Option(help="layer inside a GeoPackage")] = None,
    crs: Annotated[str | None, typer.Option(help="override the file's CRS")] = None,
) -> None:
    """Import roads and rivers (GeoJSON, GeoPackage, Shapefile): they replace the features of
    the same kinds filed under the territory; all or nothing."""
    from civgrid.grids.gis import read_layer
    from civgrid.grids.models import FeatureKind
    from civgrid.grids.overlays import import_features

    if kind is not None and kind not in {k.value for k in FeatureKind}:
        console.print(f"[red]--kind must be one of {', '.join(k.value for k in FeatureKind)}[/red]")
        raise typer.Exit(2)
    with _session() as db:
        try:
            counts = import_features(
                db,
                territory,
                read_layer(path, layer=layer, crs=crs),
                kind=FeatureKind(kind) if kind else None,
                kind_field=kind_field,
                name_field=name_field,
                actor=None,
            )
        except CivgridError as exc:
            _fail(exc)
            return
    for k, n in counts.items():
        console.print(f"{territory}: {n} × {k.value}")
