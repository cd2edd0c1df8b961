"""The six division checks (网格划分六项原则) as pure functions over shapely geometries.

Input geometries are WGS84 lon/lat. Areas and lengths are measured in a local Lambert
azimuthal equal-area projection centred on the village, so square metres are true areas and
metres along boundaries are accurate to well under 0.1 % at village scale.

The checks, per grid and per village:
1. survey data: done by the importer (geometry must be valid, CRS known);
2. a grid crossing its village boundary (area of the grid outside the village);
3. identifiable boundaries: the share of boundary length within ``tolerance_m`` of a road,
   river or street line;
4. seamless coverage: gap area (village not covered by any grid) and overlap area (covered
   by two or more grids), in m²;
5. protected sites (schools, enterprises, compounds) split between grids;
6. households outside the band (comprehensive grids only; exclusive grids keep a site whole
   whatever its size).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

# Below these an area is numerical noise of the projection and of shared vertices, not a problem.
AREA_TOLERANCE_M2 = 1.0
SPLIT_SHARE = 0.01
DENSIFY_DEGREES = (
    1e-4  # ~10 m  # a site counts as split when ≥2 grids each hold more than 1 % of it
)


@dataclass(frozen=True)
class GridShape:
    """A grid to check: its code, WGS84 geometry, household count and kind."""

    code: str
    geometry: BaseGeometry
    households: int
    kind: str = "comprehensive"


@dataclass(frozen=True)
class ProtectedSite:
    """A site that must not be split between grids (a school, enterprise, compound)."""

    name: str
    geometry: BaseGeometry


@dataclass
class GridCheck:
    """The measurements of one grid."""

    code: str
    kind: str
    households: int
    area_m2: float
    in_band: bool
    outside_village_m2: float
    crosses_village: bool
    overlap_m2: float
    boundary_m: float
    along_roads_m: float
    road_share: float
    polsby_popper: float
    split_sites: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Short machine-readable names of what is wrong with this grid."""
        out = []
        if self.crosses_village:
            out.append("crosses_village")
        if self.overlap_m2 > AREA_TOLERANCE_M2:
            out.append("overlap")
        if self.kind == "comprehensive" and not self.in_band:
            out.append("household_band")
        if self.split_sites:
            out.append("splits_site")
        return out


@dataclass
class VillageReport:
    """Per-grid rows and village totals of the six checks."""

    grids: list[GridCheck]
    band: tuple[int, int]
    village_area_m2: float
    gap_area_m2: float
    overlap_area_m2: float
    crossing: list[str]
    out_of_band: list[str]
    boundary_m: float
    along_roads_m: float
    road_share: float
    internal_boundary_m: float
    internal_road_share: float
    split_sites: list[str]

    @property
    def ok(self) -> bool:
        """True when coverage is seamless and no grid crosses, splits or leaves the band."""
        return (
            self.gap_area_m2 <= AREA_TOLERANCE_M2
            and self.overlap_area_m2 <= AREA_TOLERANCE_M2
            and not self.crossing
            and not self.out_of_band
            and not self.split_sites
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (rounded figures, problems spelled out)."""
        d = asdict(self)
        d["band"] = list(self.band)
        d["ok"] = self.ok
        d["grids"] = [{**asdict(g), "problems": g.problems} for g in self.grids]
        return _rounded(d)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4 if abs(value) < 10 else 1)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def local_projector(geom: BaseGeometry) -> Callable[[BaseGeometry], BaseGeometry]:
    """A function projecting WGS84 geometries to metres around ``geom`` (local LAEA)."""
    c = geom.centroid if not geom.is_empty else shapely.Point(0, 0)
    tr = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=laea +lat_0={c.y:.6f} +lon_0={c.x:.6f} +datum=WGS84 +units=m",
        always_xy=True,
    )

    def project(g: BaseGeometry) -> BaseGeometry:
        def xy(coords: np.ndarray) -> np.ndarray:
            x, y = tr.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        # densify first: a straight lon/lat edge is slightly curved in metres, and without
        # extra vertices two grids sharing part of an edge would leave m²-sized slivers
        return shapely.transform(shapely.segmentize(g, DENSIFY_DEGREES), xy)

    return project


def polsby_popper(geom: BaseGeometry) -> float:
    """Compactness 4πA/P² (1 for a circle, ~0.785 for a square); metric geometry expected."""
    perimeter = geom.length
    if perimeter == 0:
        return 0.0
    return 4 * math.pi * geom.area / perimeter**2


def _valid(g: BaseGeometry) -> BaseGeometry:
    """``g`` repaired; of a repair that yields a collection, only the polygonal parts count."""
    if g.is_valid:
        return g
    fixed = shapely.make_valid(g)
    if fixed.geom_type == "GeometryCollection":
        areas = [p for p in fixed.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(areas) if areas else shapely.Polygon()
    return fixed


def check_village(
    village: BaseGeometry,
    grids: Sequence[GridShape],
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
    band: tuple[int, int] = (300, 500),
    tolerance_m: float = 15.0,
) -> VillageReport:
    """Run the six division checks on the grids of one village (all geometries WGS84)."""
    project = local_projector(village)
    v = _valid(project(village))
    polys = [_valid(project(g.geometry)) for g in grids]
    union = shapely.union_all(polys) if polys else shapely.Polygon()
    road_zone = (
        shapely.union_all([project(r) for r in roads]).buffer(tolerance_m)
        if roads
        else shapely.Polygon()
    )
    overlaps = _pairwise_overlaps(polys)
    sites = [(s.name, _valid(project(s.geometry))) for s in protected]
    split = _split_sites(sites, polys)
    rows = []
    for i, (g, p) in enumerate(zip(grids, polys, strict=True)):
        outside = p.difference(v).area
        boundary = p.boundary
        along = boundary.intersection(road_zone).length if roads else 0.0
        rows.append(
            GridCheck(
                code=g.code,
                kind=g.kind,
                households=g.households,
                area_m2=p.area,
                in_band=band[0] <= g.households <= band[1],
                outside_village_m2=outside,
                crosses_village=outside > max(AREA_TOLERANCE_M2, 1e-4 * p.area),
                overlap_m2=overlaps[i],
                boundary_m=boundary.length,
                along_roads_m=along,
                road_share=along / boundary.length if boundary.length else 0.0,
                polsby_popper=polsby_popper(p),
                split_sites=[name for name, holders in split.items() if i in holders],
            )
        )
    lines = shapely.union_all([p.boundary for p in polys]) if polys else shapely.LineString()
    along_all = lines.intersection(road_zone).length if roads else 0.0
    internal = lines.difference(v.boundary.buffer(0.5))
    internal_along = internal.intersection(road_zone).length if roads else 0.0
    return VillageReport(
        grids=rows,
        band=band,
        village_area_m2=v.area,
        gap_area_m2=v.difference(union).area,
        overlap_area_m2=sum(p.area for p in polys) - union.area,
        crossing=[r.code for r in rows if r.crosses_village],
        out_of_band=[r.code for r in rows if r.kind == "comprehensive" and not r.in_band],
        boundary_m=lines.length,
        along_roads_m=along_all,
        road_share=along_all / lines.length if lines.length else 0.0,
        internal_boundary_m=internal.length,
        internal_road_share=internal_along / internal.length if internal.length else 0.0,
        split_sites=sorted(split),
    )


def _pairwise_overlaps(polys: Sequence[BaseGeometry]) -> list[float]:
    """For each polygon, the area it shares with any other polygon."""
    out = [0.0] * len(polys)
    if len(polys) < 2:
        return out
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            a = polys[i].intersection(polys[j]).area
            out[i] += a
            out[j] += a
    return out


def _split_sites(
    sites: Sequence[tuple[str, BaseGeometry]], polys: Sequence[BaseGeometry]
) -> dict[str, list[int]]:
    """Sites held in meaningful parts by two or more grids → the indexes of those grids."""
    if not sites or not polys:
        return {}
    tree = shapely.STRtree(polys)
    split: dict[str, list[int]] = {}
    for name, site in sites:
        if site.area == 0:
            continue
        holders = [
            int(j)
            for j in tree.query(site, predicate="intersects")
            if polys[j].intersection(site).area > SPLIT_SHARE * site.area
        ]
        if len(holders) > 1:
            split[name] = sorted(holders)
    return split
