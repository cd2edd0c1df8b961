"""GIS import and export of grids: GeoJSON, GeoPackage, Shapefile, any CRS (pyogrio + pyproj).

Import reads every feature first, collects every problem (naming the feature), and writes
nothing unless the whole file is good; invalid polygons that ``make_valid`` can repair
without changing their area by more than 1 % are repaired and reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.divisions.models import Division, DivisionLevel
from civgrid.errors import Invalid
from civgrid.grids.actions import GridDraft, add_grid
from civgrid.grids.codes import assign_codes, is_grid_code
from civgrid.grids.geo import from_text, gcj02_to_wgs84
from civgrid.grids.import_rules import Problem, check_drafts, geometry_problem
from civgrid.grids.models import Grid, GridKind, VersionReason
from civgrid.web.i18n import N_

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}
GCJ02 = "GCJ-02"
REPAIR_AREA_TOLERANCE = 0.01


@dataclass(frozen=True)
class ColumnMapping:
    """Which attribute holds what; ``code`` may be empty when codes are to be assigned."""

    code: str = "code"
    name: str = "name"
    households: str = "households"
    village: str = ""  # needed when codes are assigned rather than read
    population: str = ""
    kind: str = ""


@dataclass
class ImportResult:
    grids: list[Grid] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # soft rules, admitted by the operator


@dataclass
class _Row:
    label: str
    geom: BaseGeometry
    attrs: dict[str, Any]


def read_layer(
    path: Path, *, layer: str | None = None, crs: str | None = None, keep_empty: bool = False
) -> list[tuple[str, Any, dict[str, Any]]]:
    """Features of a file as (label, WGS84 geometry, attributes); ``crs`` overrides the file's.

    A ``.zip`` is read as the Shapefile (or GeoPackage, GeoJSON) inside it. With
    ``keep_empty`` a feature without geometry, or with coordinates that are not numbers, is
    returned with geometry None instead of refusing the file (the caller skips and names it).
    """
    try:
        meta, _fids, wkb, values = pyogrio.raw.read(_source(path), layer=layer)
    except Invalid:
        raise
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise Invalid(f"{path.name}: cannot read ({exc})") from exc
    if wkb is None or len(wkb) == 0:
        raise Invalid(f"{path.name}: the file has no features")
    names = list(meta["fields"])
    with np.errstate(invalid="ignore"):  # NaN coordinates: named per feature below
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    to_wgs84 = _transformer(path, crs or meta.get("crs"))
    rows: list[tuple[str, Any, dict[str, Any]]] = []
    for i, geom in enumerate(geoms):
        attrs = {n: _plain(values[j][i]) for j, n in enumerate(names)}
        label = f"feature {i + 1}" + (f" ({attrs[names[0]]})" if names else "")
        broken = (
            geom is None or geom.is_empty or not np.isfinite(shapely.get_coordinates(geom)).all()
        )
        if broken and keep_empty:
            rows.append((label, None if geom is None or geom.is_empty else geom, attrs))
            continue
        if geom is None or geom.is_empty:
            raise Invalid(f"{path.name}: {label} has no geometry", feature=i + 1)
        rows.append((label, to_wgs84(geom), attrs))
    _check_lonlat(path, [r for r in rows if r[1] is not None and (not keep_empty or _finite(r[1]))])
    return rows


def _finite(geom: BaseGeometry) -> bool:
    return bool(np.isfinite(shapely.get_coordinates(geom)).all())


def _source(path: Path) -> str | Path:
    """The path pyogrio opens: inside a zip, its first Shapefile, GeoPackage or GeoJSON."""
    if path.suffix.lower() != ".zip":
        return path
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise Invalid(f"{path.name}: not a readable zip file") from exc
    for suffix in (".shp", ".gpkg", ".geojson", ".json"):
        inner = [n for n in names if n.lower().endswith(suffix) and not n.startswith("__MACOSX")]
        if inner:
            return f"/vsizip/{path}/{inner[0]}"
    raise Invalid(f"{path.name}: the zip holds no Shapefile, GeoPackage or GeoJSON")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _transformer(path: Path, crs: str | None) -> Any:
    if not crs:
        raise Invalid(
            f"{path.name}: the file declares no coordinate reference system; "
            "say which one it is (e.g. --crs EPSG:4547)"
        )
    if crs.upper() in (GCJ02, "GCJ02"):
        return lambda g: shapely.transform(g, _gcj_array)
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        raise Invalid(f"{path.name}: unknown coordinate reference system {crs!r}") from exc
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return lambda g: g
    tr = Transformer.from_crs(source, "EPSG:4326", always_xy=True)

    def to_wgs84(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

    return to_wgs84


def _gcj_array(xy: np.ndarray) -> np.ndarray:
    return np.array([gcj02_to_wgs84(float(x), float(y)) for x, y in xy]).reshape(-1, 2)


def _check_lonlat(path: Path, rows: list[tuple[str, BaseGeometry, dict[str, Any]]]) -> None:
    """A wrong CRS shows up as coordinates that are not longitudes and latitudes."""
    for label, geom, _attrs in rows:
        x0, y0, x1, y1 = geom.bounds
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (
            -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
        ):
            raise Invalid(
                f"{path.name}: {label} lies outside longitude/latitude after reprojection; "
                "the coordinate reference system is wrong or missing"
            )


def _repair(
    label: str, geom: BaseGeometry, repaired: list[str], errors: list[Problem]
) -> BaseGeometry:
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        errors.append(
            Problem(
                N_("%(feature)s: geometry is a %(type)s, not a polygon"),
                {"feature": label, "type": geom.geom_type},
            )
        )
        return geom
    if geom.is_valid:
        return geom
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom)
    if fixed.geom_type == "GeometryCollection":
        fixed = shapely.union_all([p for p in shapely.get_parts(fixed) if p.area > 0])
    change = abs(fixed.area - geom.area) / geom.area if geom.area else 1.0
    if fixed.geom_type not in ("Polygon", "MultiPolygon") or change > REPAIR_AREA_TOLERANCE:
        errors.append(
            Problem(
                N_("%(feature)s: invalid polygon (%(reason)s) that cannot be repaired safely"),
                {"feature": label, "reason": reason},
            )
        )
        return geom
    repaired.append(f"{label}: repaired invalid polygon ({reason})")
    return fixed


def import_grids(
    db: Session,
    path: Path,
    mapping: ColumnMapping,
    *,
    actor: User | None,
    layer: str | None = None,
    crs: str | None = None,
    allow_warnings: bool = False,
) -> ImportResult:
    """Import grids from a GIS file; all or nothing, with every problem named.

    The hard rules of :mod:`civgrid.grids.import_rules` always refuse; its soft rules refuse
    unless ``allow_warnings`` (then they are kept on the result and in the audit event).
    """
    features = read_layer(path, layer=layer, crs=crs, keep_empty=True)
    result = ImportResult()
    errors: list[Problem] = []
    drafts = _drafts(features, mapping, result, errors)
    _assign_missing_codes(drafts, get_settings().grid_sequence_digits)
    _check_codes_and_villages(db, drafts, errors)
    if not errors:
        from civgrid.grids.service import household_band

        findings = check_drafts(db, drafts, household_band())
        errors.extend(findings.hard)
        result.warnings = findings.soft
    _refuse(path, errors, result.warnings, allow_warnings)
    for _label, draft in drafts:
        result.grids.append(
            add_grid(
                db,
                draft,
                actor=actor,
                reason=VersionReason.IMPORTED,
                note=f"imported from {path.name}",
            )
        )
    record(
        db,
        "grid.import",
        actor=actor,
        object_type="file",
        object_id=path.name,
        detail={
            "grids": len(drafts),
            "repaired": result.repaired,
            "warnings_allowed": [w.text() for w in result.warnings],
        },
    )
    db.commit()
    return result


def _drafts(
    features: list[tuple[str, Any, dict[str, Any]]],
    mapping: ColumnMapping,
    result: ImportResult,
    errors: list[Problem],
) -> list[tuple[str, GridDraft]]:
    """A draft per usable feature; a problem named for every other one."""
    digits = get_settings().grid_sequence_digits
    drafts: list[tuple[str, GridDraft]] = []
    for label, geom, attrs in features:
        broken = geometry_problem(label, geom)
        if broken is not None:
            errors.append(broken)
            continue
        geom = _repair(label, geom, result.repaired, errors)
        draft = _draft(label, geom, attrs, mapping, digits, errors)
        if draft:
            drafts.append((label, draft))
    return drafts


def _refuse(
    path: Path, errors: list[Problem], warnings: list[Problem], allow_warnings: bool
) -> None:
    """Raise :class:`Invalid` with every problem when the import must not go ahead."""
    if not errors and (allow_warnings or not warnings):
        return
    problems = [*errors, *warnings]
    if errors:
        message = N_("%(file)s: %(count)s problem(s); nothing imported")
    else:
        message = N_(
            "%(file)s: %(count)s warning(s); nothing imported "
            "(pass --allow-warnings to import anyway)"
        )
    raise Invalid(
        message,
        file=path.name,
        count=len(problems),
        errors=[p.text() for p in errors] + [f"warning: {w.text()}" for w in warnings],
        problems=[p.to_dict() for p in errors],
        warnings=[w.to_dict() for w in warnings],
    )


def _draft(
    label: str,
    geom: BaseGeometry,
    attrs: dict[str, Any],
    mapping: ColumnMapping,
    digits: int,
    errors: list[Problem],
) -> GridDraft | None:
    def value(column: str) -> Any:
        if column and column not in attrs:
            errors.append(
                Problem(
                    N_("%(feature)s: no attribute '%(column)s' (columns: %(columns)s)"),
                    {"feature": label, "column": column, "columns": ", ".join(attrs)},
                )
            )
            return None
        return attrs.get(column) if column else None

    code = str(value(mapping.code) or "").strip() if mapping.code else ""
    village = str(value(mapping.village) or "").strip() if mapping.village else code[:12]
    if code and not is_grid_code(code, digits):
        errors.append(
            Problem(
                N_("%(feature)s: grid code '%(code)s' is not 12 + %(digits)s digits"),
                {"feature": label, "code": code, "digits": digits},
            )
        )
        return None
    if not village:
        errors.append(
            Problem(N_("%(feature)s: no grid code and no village code"), {"feature": label})
        )
        return None
    try:
        households = int(value(mapping.households) or 0)
        population = int(value(mapping.population) or 0) if mapping.population else 0
        kind = (
            GridKind(value(mapping.kind) or "comprehensive")
            if mapping.kind
            else GridKind.COMPREHENSIVE
        )
    except (TypeError, ValueError) as exc:
        errors.append(
            Problem(N_("%(feature)s: bad value (%(error)s)"), {"feature": label, "error": str(exc)})
        )
        return None
    name = str(value(mapping.name) or code or label)
    return GridDraft(village, geom, name, households, population, kind, code=code)


def _assign_missing_codes(drafts: list[tuple[str, GridDraft]], digits: int) -> None:
    by_village: dict[str, list[GridDraft]] = {}
    for _label, d in drafts:
        if not d.code:
            by_village.setdefault(d.village_code, []).append(d)
    for village, group in by_village.items():
        for d, code in zip(
            group, assign_codes(village, [d.geometry for d in group], digits), strict=True
        ):
            d.code = code


def _check_codes_and_villages(
    db: Session, drafts: list[tuple[str, GridDraft]], errors: list[Problem]
) -> None:
    villages = {d.village_code for _l, d in drafts}
    known = set(
        db.scalars(
            select(Division.code).where(
                Division.code.in_(villages),
                Division.level == DivisionLevel.VILLAGE,
                Division.valid_to.is_(None),
            )
        )
    )
    codes = [d.code for _l, d in drafts]
    taken = set(db.scalars(select(Grid.code).where(Grid.code.in_(codes))))
    seen: dict[str, str] = {}
    for label, d in drafts:
        values = {"feature": label, "code": d.code, "village": d.village_code}
        if d.village_code not in known:
            errors.append(Problem(N_("%(feature)s: unknown village code %(village)s"), values))
        if not d.code.startswith(d.village_code):
            errors.append(
                Problem(
                    N_("%(feature)s: grid code %(code)s is not inside village %(village)s"), values
                )
            )
        if d.code in seen:
            errors.append(
                Problem(
                    N_("%(feature)s: duplicate grid code %(code)s (also %(other)s)"),
                    {**values, "other": seen[d.code]},
                )
            )
        elif d.code in taken:
            errors.append(Problem(N_("%(feature)s: grid code %(code)s already exists"), values))
        seen.setdefault(d.code, label)


def export_grids(db: Session, path: Path, *, prefix: str = "", crs: str = "EPSG:4326") -> int:
    """Write the current grids under a division code to a GIS file (format by suffix)."""
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise Invalid(f"unknown GIS format {path.suffix!r}; use one of {', '.join(DRIVERS)}")
    query = select(Grid).where(Grid.valid_to.is_(None)).order_by(Grid.code)
    if prefix:
        query = query.where(Grid.code.startswith(prefix, autoescape=True))
    grids = db.scalars(query).all()
    if not grids:
        raise Invalid("no grids to export")
    geoms = [
        shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g
        for g in (from_text(x.geometry) for x in grids)
    ]
    if not CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True):
        tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        geoms = [
            shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
            for g in geoms
        ]
    fields = {
        "code": [g.code for g in grids],
        "name": [g.name for g in grids],
        "kind": [g.kind.value for g in grids],
        "level": [g.level for g in grids],
        "village": [g.village_code for g in grids],
        "households": [g.households for g in grids],
        "population": [g.population for g in grids],
        "version": [g.version for g in grids],
    }
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(np.asarray(geoms, dtype=object)),
        field_data=[np.asarray(v) for v in fields.values()],
        fields=list(fields),
        crs=crs,
        driver=driver,
        geometry_type="MultiPolygon",
        encoding="UTF-8",
    )
    return len(grids)
