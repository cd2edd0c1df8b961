"""Input of a division and its validation: every problem is collected and names its feature."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from civgrid.errors import Invalid
from civgrid.grids.checks import ProtectedSite
from civgrid.planning.geometry import polygonal, union

BAND_URBAN = (300, 500)
BAND_RURAL = (250, 350)  # "around 300" households for rural comprehensive grids
MAX_LISTED = 20  # problems named one by one in an error message
MIN_AREA = 1e-12  # square degrees (~0.01 m²): a polygon below this has no area to divide


@dataclass(frozen=True)
class Unit:
    """A building, block or parcel with its household count (WGS84 point or polygon)."""

    id: str
    geometry: BaseGeometry
    households: int


class DivisionInputError(Invalid):
    """Bad division input; ``problems`` lists every offending feature."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        super().__init__("; ".join(shown) + more, problems=list(problems))
        self.problems = list(problems)


def parse_band(text: str) -> tuple[int, int]:
    """``"300:500"`` → (300, 500), refusing malformed bands and min > max."""
    try:
        lo, hi = (int(p) for p in text.split(":"))
    except ValueError as exc:
        raise DivisionInputError([f"band {text!r} is not MIN:MAX"]) from exc
    return check_band((lo, hi))


def check_band(band: tuple[int, int]) -> tuple[int, int]:
    """The band itself if 0 < min ≤ max; a clear error otherwise."""
    lo, hi = band
    if lo > hi:
        raise DivisionInputError([f"band minimum {lo} is greater than its maximum {hi}"])
    if lo <= 0:
        raise DivisionInputError([f"band minimum {lo} must be positive"])
    return int(lo), int(hi)


class Frame:
    """A local metric frame around a village: an affine equirectangular map (WGS84 ellipsoid
    radii of curvature at the centre). Affine, so straight lon/lat edges stay straight and the
    round trip is exact to floating point: the grids tile the WGS84 village without slivers.
    Its scale error over a village of a few kilometres is below 0.1 %."""

    def __init__(self, around: BaseGeometry) -> None:
        c = around.centroid
        a, e2 = 6378137.0, 0.00669437999014
        phi = math.radians(c.y)
        w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
        self.lon0, self.lat0 = c.x, c.y
        self.kx = math.radians(1) * a * math.cos(phi) / w  # metres per degree of longitude
        self.ky = math.radians(1) * a * (1 - e2) / w**3  # metres per degree of latitude

    def to_metric(self, geom: BaseGeometry) -> BaseGeometry:
        """WGS84 → metres."""
        return shapely.transform(
            geom, lambda xy: (xy - [self.lon0, self.lat0]) * [self.kx, self.ky]
        )

    def to_wgs84(self, geom: BaseGeometry) -> BaseGeometry:
        """Metres → WGS84."""
        return shapely.transform(geom, lambda xy: xy / [self.kx, self.ky] + [self.lon0, self.lat0])


@dataclass
class InputNotes:
    """What the planner did to the input before dividing: features skipped and repaired."""

    skipped: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the counts and the messages."""
        return {
            "skipped": len(self.skipped),
            "repaired": len(self.repaired),
            "skipped_units": self.skipped,
            "repaired_units": self.repaired,
        }


def repair_units(units: Sequence[Unit]) -> tuple[list[Unit], InputNotes]:
    """Units the planner can use: invalid polygons repaired (their polygonal part), features
    without a usable geometry (none, NaN coordinates, lines, no area) skipped; each named."""
    notes = InputNotes()
    out = []
    for u in units:
        g, problem = _usable(u.geometry)
        if g is None:
            notes.skipped.append(f"unit {u.id}: skipped, {problem}")
            continue
        if problem:
            notes.repaired.append(f"unit {u.id}: {problem}")
            u = Unit(u.id, g, u.households)
        out.append(u)
    return out, notes


def _usable(g: BaseGeometry | None) -> tuple[BaseGeometry | None, str]:
    """(geometry to use or None, what was wrong)."""
    if g is None or g.is_empty:
        return None, "no geometry"
    if not np.isfinite(shapely.get_coordinates(g)).all():
        return None, "coordinates are not numbers (NaN or infinite)"
    kind = g.geom_type
    if kind not in ("Point", "Polygon", "MultiPolygon", "GeometryCollection"):
        return None, f"geometry is a {kind}, not a polygon or point"
    if kind != "GeometryCollection" and g.is_valid and (kind == "Point" or g.area > MIN_AREA):
        return g, ""
    reason = shapely.is_valid_reason(g) if not g.is_valid else f"{kind} without area"
    fixed = polygonal(g)
    if fixed.is_empty or fixed.area <= MIN_AREA:
        return None, f"invalid geometry with no area ({reason})"
    return fixed, f"repaired invalid geometry ({reason})"


def validate(
    village_code: str,
    boundary: BaseGeometry,
    units: Sequence[Unit],
    protected: Sequence[ProtectedSite],
    band: tuple[int, int],
) -> None:
    """Raise one DivisionInputError listing every bad feature (nothing is divided then)."""
    check_band(band)
    problems: list[str] = []
    if boundary.is_empty or boundary.geom_type not in ("Polygon", "MultiPolygon"):
        problems.append(f"village {village_code}: boundary must be a polygon")
    elif not boundary.is_valid:
        problems.append(
            f"village {village_code}: invalid boundary ({shapely.is_valid_reason(boundary)})"
        )
    if problems:
        raise DivisionInputError(problems)
    if not units:
        raise DivisionInputError([f"village {village_code}: no units with households given"])
    seen: set[str] = set()
    for u in units:
        problems += _unit_problems(u, boundary, seen)
    for s in protected:
        problems += _site_problems(s, boundary)
    if problems:
        raise DivisionInputError(problems)


def _unit_problems(u: Unit, boundary: BaseGeometry, seen: set[str]) -> list[str]:
    out = []
    if u.id in seen:
        out.append(f"unit {u.id}: id appears twice")
    seen.add(u.id)
    h = u.households
    if h is None or isinstance(h, float) and np.isnan(h):  # type: ignore[redundant-expr]
        out.append(f"unit {u.id}: household count is missing")
    elif h < 0:
        out.append(f"unit {u.id}: household count {h} is negative")
    g = u.geometry
    if g is None or g.is_empty:
        out.append(f"unit {u.id}: geometry is empty")
    elif g.geom_type not in ("Point", "Polygon", "MultiPolygon"):
        out.append(f"unit {u.id}: geometry must be a point or polygon, not {g.geom_type}")
    elif not g.is_valid:
        out.append(f"unit {u.id}: invalid geometry ({shapely.is_valid_reason(g)})")
    elif not boundary.covers(g.representative_point()):
        out.append(f"unit {u.id}: lies outside the village")
    return out


def _site_problems(s: ProtectedSite, boundary: BaseGeometry) -> list[str]:
    g = s.geometry
    if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
        return [f"protected site {s.name}: geometry must be a polygon"]
    if not g.is_valid:
        return [f"protected site {s.name}: invalid geometry ({shapely.is_valid_reason(g)})"]
    outside = g.difference(boundary).area
    if outside > 1e-3 * g.area:
        if g.intersects(boundary):
            return [f"protected site {s.name}: crosses the village boundary"]
        return [f"protected site {s.name}: lies outside the village"]
    return []


def _apart(pieces: BaseGeometry, gap_m: float, *, most: int = 100) -> bool:
    """True when no two of (at most ``most``) pieces lie within ``gap_m`` of each other: no
    longer reach can join them."""
    parts = shapely.get_parts(pieces)
    if len(parts) > most:
        return False
    pairs = shapely.STRtree(parts).query(parts, predicate="dwithin", distance=gap_m)
    return bool((pairs[0] == pairs[1]).all())


def boundary_around(geoms: Sequence[BaseGeometry], *, reach_m: float = 40.0) -> BaseGeometry:
    """A boundary enclosing the given features and the streets between them (WGS84): one
    polygon, reaching further (up to eight times) to take in outlying features."""
    points = [g for g in geoms if g.geom_type == "Point"]
    whole = union([polygonal(g) for g in geoms if g.geom_type != "Point"])
    if points:
        whole = shapely.union_all([whole, *points])
    frame = Frame(whole)
    m = frame.to_metric(whole)
    reaches = [reach_m * 2**k for k in range(4)]
    for reach in reaches:
        # The closing only needs the outline to within a fraction of the reach: simplified, it
        # costs a fraction of the full detail. The union with the detailed features below keeps
        # every feature inside (what simplifying shaved off is far less than reach / 2).
        coarse = m.simplify(reach / 8)
        closed = coarse.buffer(reach, quad_segs=2).buffer(-reach / 2, quad_segs=2)
        if closed.geom_type == "Polygon" or _apart(closed, 2 * reaches[-1]):
            break
    out = polygonal(union([closed, m.buffer(0.5)]))
    return frame.to_wgs84(out)
