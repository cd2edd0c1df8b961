"""Nudging a proposal (微调): move a unit to a neighbouring grid and rebuild the grids."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from civgrid.errors import Invalid
from civgrid.grids.checks import ProtectedSite
from civgrid.planning.divide import Proposal, grid_polygons, prepare, proposed_grids
from civgrid.planning.explain import explain
from civgrid.planning.inputs import BAND_URBAN, Unit, validate


def regroup(
    village_code: str,
    boundary: BaseGeometry,
    units: Sequence[Unit],
    assignment: Mapping[str, str],
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
    exclusive: Sequence[str] = (),
    band: tuple[int, int] = BAND_URBAN,
    kind: str = "comprehensive",
    digits: int = 2,
    move: tuple[str, str] | None = None,
) -> Proposal:
    """Rebuild the grids of a given unit → grid assignment, optionally after moving one unit
    (``(unit_id, to_grid_code)``); refuses moves that break contiguity or jump grids."""
    t0 = time.perf_counter()
    validate(village_code, boundary, units, protected, band)
    prep = prepare(
        boundary, units, roads=roads, protected=protected, exclusive=exclusive, band=band
    )
    codes = sorted(set(assignment.values()))
    index = {c: i for i, c in enumerate(codes)}
    by_id = {u.id: i for i, u in enumerate(units)}
    group = np.array(
        [index[assignment[units[n.units[0]].id]] if n.units else -1 for n in prep.nodes]
    )
    adjacency = prep.graph.adjacency
    if move is not None:
        _move(prep.nodes, group, adjacency, by_id, index, move)
    _fill_empty(group, adjacency)
    _check_contiguous(group, adjacency, codes)
    polys, group = grid_polygons(prep.village, prep.nodes, prep.node_geoms, prep.graph, group)
    grids = proposed_grids(
        boundary, prep.frame, polys, prep.nodes, group, units, village_code, digits, kind
    )
    return Proposal(village_code, band, kind, grids, explain(grids, band), time.perf_counter() - t0)


def _move(
    nodes: list, group: np.ndarray, adjacency: object, by_id: dict, index: dict, move: tuple
) -> None:
    unit_id, to_code = move
    if unit_id not in by_id:
        raise Invalid(f"unit {unit_id} is not in this proposal")
    if to_code not in index:
        raise Invalid(f"grid {to_code} is not in this proposal")
    node = next(i for i, n in enumerate(nodes) if by_id[unit_id] in n.units)
    target = index[to_code]
    if group[node] == target:
        raise Invalid(f"unit {unit_id} is already in grid {to_code}")
    row = adjacency[node]  # type: ignore[index]
    if target not in set(group[row.indices].tolist()):
        raise Invalid(f"grid {to_code} does not border unit {unit_id}: move to a neighbouring grid")
    group[node] = target


def _fill_empty(group: np.ndarray, adjacency: object) -> None:
    """Nodes without units (empty protected sites) join the neighbouring group."""
    for i in np.flatnonzero(group < 0).tolist():
        row = adjacency[i]  # type: ignore[index]
        near = [int(group[j]) for j in row.indices.tolist() if group[j] >= 0]
        group[i] = max(set(near), key=near.count) if near else 0


def _check_contiguous(group: np.ndarray, adjacency: object, codes: list[str]) -> None:
    for g, code in enumerate(codes):
        idx = np.flatnonzero(group == g)
        if len(idx) == 0:
            raise Invalid(f"the move would leave grid {code} empty")
        n, _ = connected_components(adjacency[idx][:, idx], directed=False)  # type: ignore[index]
        if n > 1:
            raise Invalid(f"the move would split grid {code} into {n} pieces")
