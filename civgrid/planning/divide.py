"""Divide a village into proposed grids (网格自动划分), pure: no database.

Steps: validate → project to metres → merge the units inside each protected site into one
node → sample points and Voronoi cells clipped to the village (a seamless tiling) → node
graph with road-discounted edges → oversized nodes become exclusive grids → each remaining
connected area is partitioned (METIS + band repair + refinement) → cells are unioned per
grid, sites are given whole to their grid → codes by the row rule → explanations wherever
the band cannot be met.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from civgrid.errors import Invalid
from civgrid.grids.checks import ProtectedSite, polsby_popper
from civgrid.grids.codes import assign_codes
from civgrid.planning import cells as cellmod
from civgrid.planning import geometry
from civgrid.planning.explain import Explanation, explain
from civgrid.planning.inputs import (
    BAND_URBAN,
    DivisionInputError,
    Frame,
    InputNotes,
    Unit,
    repair_units,
    validate,
)
from civgrid.planning.partition import Refiner, choose_count, partition

Progress = Callable[[str, float], None]  # (step, fraction done)


@dataclass
class ProposedGrid:
    """One proposed grid (WGS84 geometry) and the units it holds."""

    code: str
    geometry: BaseGeometry
    households: int
    kind: str
    unit_ids: list[str]
    sites: list[str] = field(default_factory=list)
    polsby_popper: float = 0.0
    contiguous: bool = True


@dataclass
class Proposal:
    """The proposed grids of one village, the explanations and the unit → grid assignment."""

    village_code: str
    band: tuple[int, int]
    kind: str
    grids: list[ProposedGrid]
    explanations: list[Explanation]
    seconds: float = 0.0
    notes: InputNotes = field(default_factory=InputNotes)

    @property
    def unit_grid(self) -> dict[str, str]:
        """Unit id → grid code."""
        return {u: g.code for g in self.grids for u in g.unit_ids}

    def in_band_share(self) -> float:
        """Share of comprehensive grids inside the band."""
        comp = [g for g in self.grids if g.kind != "exclusive"]
        lo, hi = self.band
        return sum(lo <= g.households <= hi for g in comp) / len(comp) if comp else 1.0


def divide(
    villages: Mapping[str, BaseGeometry],
    units: Sequence[Unit],
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
    exclusive: Sequence[str] = (),
    band: tuple[int, int] = BAND_URBAN,
    kind: str = "comprehensive",
    digits: int = 2,
    progress: Progress | None = None,
) -> list[Proposal]:
    """Divide several villages: each unit, road and site goes to the village holding it."""
    by_village: dict[str, list[Unit]] = {c: [] for c in villages}
    outside = []
    usable, notes = repair_units(units)
    raw = {u.id: u for u in units}
    units = [raw[u.id] for u in usable]  # each village repairs (and reports) its own
    reps = shapely.point_on_surface(np.array([u.geometry for u in usable], dtype=object))
    home = np.full(len(units), -1)
    codes = list(villages)
    for k, code in enumerate(codes):
        shapely.prepare(villages[code])
        home[(home < 0) & shapely.covers(villages[code], reps)] = k
    for u, k in zip(units, home.tolist(), strict=True):
        if k < 0:
            outside.append(f"unit {u.id}: lies outside every village")
        else:
            by_village[codes[k]].append(u)
    if outside:
        raise DivisionInputError(outside)
    out = []
    for i, (code, boundary) in enumerate(villages.items()):
        sites = [s for s in protected if s.geometry.intersection(boundary).area > 0]
        lines = [r for r in roads if r.intersects(boundary)]
        out.append(
            divide_village(
                code,
                boundary,
                by_village[code],
                roads=lines,
                protected=sites,
                exclusive=exclusive,
                band=band,
                kind=kind,
                digits=digits,
                progress=_sub_progress(progress, i, len(villages)),
            )
        )
    if out:
        out[0].notes.skipped[:0] = notes.skipped  # they lie in no village: told once
    return out


def _sub_progress(progress: Progress | None, i: int, n: int) -> Progress | None:
    if progress is None:
        return None
    outer = progress
    return lambda step, f: outer(step, (i + f) / n)


def divide_village(
    village_code: str,
    boundary: BaseGeometry,
    units: Sequence[Unit],
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
    exclusive: Sequence[str] = (),
    band: tuple[int, int] = BAND_URBAN,
    kind: str = "comprehensive",
    digits: int = 2,
    progress: Progress | None = None,
) -> Proposal:
    """Propose grids for one village (WGS84); ``exclusive`` names sites kept as own grids."""
    t0 = time.perf_counter()
    tick = progress or (lambda _s, _f: None)
    units, notes = repair_units(units)
    validate(village_code, boundary, units, protected, band)
    tick("cells", 0.05)
    prep = prepare(
        boundary, units, roads=roads, protected=protected, exclusive=exclusive, band=band
    )
    nodes, node_geoms, graph = prep.nodes, prep.node_geoms, prep.graph
    tick("partition", 0.5)
    xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(node_geoms, dtype=object)))
    assignment, band_notes = _assign(nodes, graph.adjacency, band, graph.blocks, xy)
    tick("grids", 0.8)
    polys, assignment = grid_polygons(prep.village, nodes, node_geoms, graph, assignment)
    grids = proposed_grids(
        boundary, prep.frame, polys, nodes, assignment, units, village_code, digits, kind
    )
    tick("done", 1.0)
    explanations = band_notes + explain(grids, band)
    seconds = time.perf_counter() - t0
    return Proposal(village_code, band, kind, grids, explanations, seconds, notes)


@dataclass
class Prepared:
    """The metric village, its nodes and their cell graph: what every partitioner works on."""

    frame: Frame
    village: BaseGeometry
    nodes: list[cellmod.Node]
    node_geoms: list[BaseGeometry]
    graph: cellmod.CellGraph


def prepare(
    boundary: BaseGeometry,
    units: Sequence[Unit],
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
    exclusive: Sequence[str] = (),
    band: tuple[int, int] = BAND_URBAN,
) -> Prepared:
    """Project, merge site units into nodes, tile the village into cells, build the graph."""
    frame = Frame(boundary)
    village = frame.to_metric(boundary).buffer(0)
    nodes, node_geoms = _nodes(frame, units, protected, set(exclusive), band)
    spacing = max(2.0, float(np.sqrt(village.area / 60_000)))
    # Small footprints are one point each; outlines are sampled only for units large
    # compared with the typical distance between units (blocks, parcels, sites).
    typical = float(np.sqrt(village.area / max(1, len(nodes))))
    points, labels = cellmod.sample_points(node_geoms, spacing, max(6 * spacing, 2 * typical))
    barriers = shapely.union_all([frame.to_metric(r) for r in roads]) if roads else None
    geoms = np.asarray(node_geoms, dtype=object)
    graph = cellmod.build(village, points, labels, len(nodes), barriers, geoms)
    return Prepared(frame, village, nodes, node_geoms, graph)


def _nodes(
    frame: Frame,
    units: Sequence[Unit],
    protected: Sequence[ProtectedSite],
    exclusive: set[str],
    band: tuple[int, int],
) -> tuple[list[cellmod.Node], list[BaseGeometry]]:
    """One node per protected site (with the units inside it), then one per remaining unit."""
    unit_geoms = np.array([frame.to_metric(u.geometry) for u in units], dtype=object)
    reps = shapely.point_on_surface(unit_geoms)
    taken = np.zeros(len(units), dtype=bool)
    nodes: list[cellmod.Node] = []
    geoms: list[BaseGeometry] = []
    for s in protected:
        sg = frame.to_metric(s.geometry)
        inside = np.flatnonzero(shapely.covers(sg, reps) & ~taken)
        taken[inside] = True
        h = int(sum(units[i].households for i in inside.tolist()))
        own = s.name in exclusive or h > band[1]
        geom = geometry.union([sg, *unit_geoms[inside]]) if len(inside) else sg
        nodes.append(cellmod.Node(h, inside.tolist(), site=s.name, exclusive=own))
        geoms.append(geom)
    for i in np.flatnonzero(~taken).tolist():
        h = int(units[i].households)
        nodes.append(cellmod.Node(h, [i], exclusive=h > band[1]))
        geoms.append(unit_geoms[i])
    return nodes, geoms


def _assign(
    nodes: list[cellmod.Node],
    adjacency: Any,
    band: tuple[int, int],
    blocks: np.ndarray | None = None,
    xy: np.ndarray | None = None,
) -> tuple[np.ndarray, list[Explanation]]:
    """Grid index of every node: exclusive nodes alone, each connected area partitioned.

    With ``blocks`` (parcels that touch form a block; streets lie between blocks) whole
    blocks are partitioned, so grids are compact and end at streets; a block above the band
    is first cut into pieces within the band."""
    grid = np.full(len(nodes), -1, dtype=np.int64)
    notes: list[Explanation] = []
    next_id = 0
    for i, node in enumerate(nodes):
        if node.exclusive:
            grid[i] = next_id
            next_id += 1
    rest = np.flatnonzero(grid < 0)
    if len(rest) == 0:
        return grid, notes
    sub = adjacency[rest][:, rest].tocsr()
    weights = np.array([nodes[i].households for i in rest], dtype=np.int64)
    group = _groups(
        sub,
        weights,
        band,
        None if blocks is None else blocks[rest],
        None if xy is None else xy[rest],
    )
    member = csr_matrix((np.ones(len(rest)), (np.arange(len(rest)), group)))
    coarse = (member.T @ sub @ member).tocsr()
    coarse.setdiag(0)
    coarse.eliminate_zeros()
    coarse_w = np.bincount(group, weights=weights).astype(np.int64)
    ncomp, comp = connected_components(coarse, directed=False)
    part_of = np.full(len(coarse_w), -1, dtype=np.int64)
    for c in range(ncomp):
        idx = np.flatnonzero(comp == c)
        h = int(coarse_w[idx].sum())
        if h == 0 and next_id > 0:
            # Empty leftovers (open land cut off by an exclusive site) join that site's grid.
            members = rest[np.isin(group, idx)]
            part_of[idx] = _touching_grid(adjacency, members, grid)
            continue
        k, feasible = choose_count(h, band)
        part = partition(coarse[idx][:, idx].tocsr(), coarse_w[idx], k, band)
        part_of[idx] = part + next_id
        if feasible and len(coarse_w) < len(rest):
            _repair_fine(sub, weights, group, idx, part_of, band)
        if not feasible and h > band[0]:
            notes.append(
                Explanation(
                    "no_whole_count",
                    [],
                    h,
                    f"an area of {h} households cannot be split into whole grids of "
                    f"{band[0]}–{band[1]}; {k} grid(s) come closest",
                )
            )
        next_id += int(part.max()) + 1
    grid[rest] = part_of[group]
    return np.unique(grid, return_inverse=True)[1].astype(np.int64), notes


def _repair_fine(
    sub: csr_matrix,
    weights: np.ndarray,
    group: np.ndarray,
    idx: np.ndarray,
    part_of: np.ndarray,
    band: tuple[int, int],
) -> None:
    """Where whole groups cannot bring every grid of an area into the band, move single
    parcels across grid borders (``part_of`` is updated through the groups it splits no
    further: parcels that move become groups of their own)."""
    fine = np.flatnonzero(np.isin(group, idx))
    part = part_of[group[fine]]
    lo, hi = band
    loads = np.bincount(part - part.min(), weights=weights[fine])
    if ((loads >= lo) & (loads <= hi)).all():
        return
    base = int(part.min())
    refiner = Refiner(sub[fine][:, fine].tocsr(), weights[fine], part - base, band)
    refiner.repair_band()
    moved = fine[refiner.part + base != part]
    if len(moved):
        # each moved parcel becomes its own group, assigned to its new grid
        new = np.arange(len(moved)) + len(part_of)
        group[moved] = new
        part_of.resize(len(part_of) + len(moved), refcheck=False)
        part_of[new] = refiner.part[np.searchsorted(fine, moved)] + base


def _groups(
    graph: csr_matrix,
    weights: np.ndarray,
    band: tuple[int, int],
    blocks: np.ndarray | None,
    xy: np.ndarray | None = None,
) -> np.ndarray:
    """Group index of each node (groups are partitioned whole).

    A block (parcels linked by touching edges) up to half the band minimum is one group; a
    larger one, up to a few grids' worth, is cut across its long axis into runs of parcels of
    at most half the band minimum (small lumps keep the band reachable); beyond that (units
    bounded by street centre lines all touch) every node is its own group, as without blocks.
    """
    n = len(weights)
    if blocks is None:
        return np.arange(n)
    # parts of a block the graph links (an exclusive parcel taken out may cut a block)
    rows = np.repeat(np.arange(n), np.diff(graph.indptr))
    same = blocks[rows] == blocks[graph.indices]
    linked = csr_matrix((np.ones(int(same.sum())), (rows[same], graph.indices[same])), (n, n))
    blocks = connected_components(linked, directed=False)[1]
    load = np.bincount(blocks, weights=weights)
    cap = max(1, band[0] // 2)
    # key of each node's group: (0, block, 0) whole, (1, block, run) cut, (2, node, 0) alone
    kind = np.where(load[blocks] <= cap, 0, np.where(load[blocks] <= 4 * band[1], 1, 2))
    if xy is None:
        kind[kind == 1] = 2
    key = np.column_stack([kind, blocks, np.zeros(n, dtype=np.int64)])
    for b in np.unique(blocks[kind == 1]).tolist():
        idx = np.flatnonzero(blocks == b)
        key[idx, 2] = _runs(xy[idx], weights[idx], cap)  # type: ignore[index]
    alone = kind == 2
    key[alone, 1] = np.flatnonzero(alone)
    group = np.unique(key, axis=0, return_inverse=True)[1].ravel()
    # a run may fall apart in the graph: each linked piece is a group of its own
    same = group[rows] == group[graph.indices]
    linked = csr_matrix((np.ones(int(same.sum())), (rows[same], graph.indices[same])), (n, n))
    return connected_components(linked, directed=False)[1].astype(np.int64)


def _runs(xy: np.ndarray, weights: np.ndarray, cap: int) -> np.ndarray:
    """Run index of each parcel along the long axis of its block, each run at most ``cap``
    households (a parcel above ``cap`` alone)."""
    centred = xy - xy.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    order = np.argsort(centred @ axis, kind="stable")
    run = np.zeros(len(xy), dtype=np.int64)
    current, load = 0, 0
    for i in order.tolist():
        w = int(weights[i])
        if load and load + w > cap:
            current, load = current + 1, 0
        run[i] = current
        load += w
    return run


def _touching_grid(adjacency: Any, idx: np.ndarray, grid: np.ndarray) -> int:
    weights: dict[int, float] = {}
    coo = adjacency[idx].tocoo()
    for j, w in zip(coo.col.tolist(), coo.data.tolist(), strict=True):
        if grid[j] >= 0:
            weights[int(grid[j])] = weights.get(int(grid[j]), 0.0) + w
    return max(weights, key=lambda g: weights[g]) if weights else int(grid.max()) + 1


def grid_polygons(
    village: BaseGeometry,
    nodes: list[cellmod.Node],
    node_geoms: list[BaseGeometry],
    graph: cellmod.CellGraph,
    assignment: np.ndarray,
) -> tuple[list[BaseGeometry], np.ndarray]:
    """Union the cells per grid (metric) and give each protected site whole to its grid.

    Returns the polygons and the node assignment, which changes where a stray piece of a grid
    goes to its neighbour together with the nodes inside it."""
    cell_grid = assignment[graph.label]
    polys = [cellmod.region(graph, cell_grid == g) for g in range(int(assignment.max()) + 1)]
    for i, node in enumerate(nodes):
        if node.site:
            site = geometry.overlay("intersection", node_geoms[i], village)
            g = int(assignment[i])
            polys = [
                geometry.overlay("union" if j == g else "difference", p, site)
                for j, p in enumerate(polys)
            ]
    reps = shapely.point_on_surface(np.asarray(node_geoms, dtype=object))
    polys, assignment = _absorb_fragments([_clean(p) for p in polys], reps, assignment.copy())
    # Voronoi unions carry centimetre-short edges that turn into self-intersections after a
    # WGS84 round trip; a coverage simplification removes them without opening gaps.
    simple = shapely.coverage_simplify(
        np.asarray(polys, dtype=object), 0.05, simplify_boundary=False
    )
    return [_clean(p) for p in simple], assignment


def _absorb_fragments(
    polys: list[BaseGeometry], reps: np.ndarray, assignment: np.ndarray
) -> tuple[list[BaseGeometry], np.ndarray]:
    """Give stray pieces of a grid (Voronoi fragments cut off by the village outline or by a
    protected site) to the grid they share the longest edge with, and the nodes inside them
    too, so every grid is one polygon holding its own units and tiling stays exact.
    """
    tree = shapely.STRtree(polys)
    for g in range(len(polys)):
        if polys[g].geom_type != "MultiPolygon":
            continue
        parts = sorted(polys[g].geoms, key=lambda p: -p.area)
        keep = [parts[0]]
        for frag in parts[1:]:
            best, best_len = -1, 0.0
            for j in tree.query(frag).tolist():
                if j != g:
                    shared = frag.boundary.intersection(polys[j].boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
            if best < 0 and frag.area > 1e-9 * parts[0].area:  # else a speck touching at a point
                keep.append(frag)
            elif best < 0:
                continue
            else:
                polys[best] = geometry.overlay("union", polys[best], frag)
                moved = (assignment == g) & shapely.covers(frag, reps)
                assignment[moved] = best
        polys[g] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return polys, assignment


def _fit(boundary: BaseGeometry, grids: list[BaseGeometry]) -> list[BaseGeometry]:
    """The grids, valid, in WGS84 (the affine frame makes the round trip exact)."""
    return [_clean(g) for g in grids]


def proposed_grids(
    boundary: BaseGeometry,
    frame: Frame,
    polys: list[BaseGeometry],
    nodes: list[cellmod.Node],
    assignment: np.ndarray,
    units: Sequence[Unit],
    village_code: str,
    digits: int,
    kind: str,
) -> list[ProposedGrid]:
    """The proposed grids, numbered by the row rule."""
    wgs = _fit(boundary, [frame.to_wgs84(p) for p in polys])
    if len(wgs) >= 10**digits:
        raise Invalid(
            f"village {village_code} needs {len(wgs)} grids, more than {digits}-digit sequences "
            "allow: use 3-digit sequences (CIVGRID_GRID_SEQUENCE_DIGITS=3) or split the village"
        )
    codes = assign_codes(village_code, wgs, digits)
    out = []
    for g, poly in enumerate(polys):
        members = np.flatnonzero(assignment == g)
        excl = len(members) == 1 and nodes[members[0]].exclusive
        out.append(
            ProposedGrid(
                code=codes[g],
                geometry=wgs[g],
                households=int(sum(nodes[i].households for i in members)),
                kind="exclusive" if excl else kind,
                unit_ids=[units[u].id for i in members for u in nodes[i].units],
                sites=[nodes[i].site for i in members if nodes[i].site],
                polsby_popper=polsby_popper(poly),
                contiguous=poly.geom_type == "Polygon",
            )
        )
    return sorted(out, key=lambda g: g.code)


def _clean(p: BaseGeometry) -> BaseGeometry:
    """A valid polygon or multipolygon (unions of clipped cells may carry stray lines)."""
    p = p if p.is_valid else shapely.make_valid(p)
    if p.geom_type == "GeometryCollection":
        p = shapely.union_all([g for g in p.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    return p
