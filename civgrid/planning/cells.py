"""The seamless cell partition of a village and the adjacency graph of its units.

Every unit (and every protected site, merged with the units inside it into one node) is
represented by sample points: a point unit by itself, a polygon by points along its
boundary. The Voronoi diagram of all sample points, clipped to the village, tiles the village
exactly; the cells of one node form its area, so cell boundaries between blocks run along
the street centre lines. Two nodes are adjacent when their cells share a Voronoi edge inside
the village; the edge weight is the shared length, discounted where the neighbours are
separated by a road or river so that the partition prefers to cut there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Voronoi, cKDTree
from shapely.geometry.base import BaseGeometry

from civgrid.planning import geometry

ROAD_DISCOUNT = 0.1  # a shared edge across a road costs a tenth of one inside a block
GAP_M = 1.0  # parcels further apart than this have a street (or a path) between them
OUTLINE_BUDGET = 60_000  # boundary points shared out over the outlined nodes (at least 4 each)


@dataclass
class Node:
    """A node of the division graph: one unit, or a protected site with the units inside it."""

    households: int
    units: list[int]
    site: str = ""
    exclusive: bool = False


@dataclass
class CellGraph:
    """Cells (metric, clipped to the village), their node labels and the node graph (CSR)."""

    cells: np.ndarray  # shapely polygons, one per sample point (empty if merged away)
    label: np.ndarray  # node index of each cell
    adjacency: csr_matrix  # symmetric, weight = discounted shared length in metres
    village: BaseGeometry  # the cells cover it (and reach beyond it: clip with ``region``)
    blocks: np.ndarray | None = None  # block of each node: nodes joined by touching edges


def sample_points(
    nodes_geoms: Sequence[BaseGeometry], spacing: float, min_outline: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample points (x, y) and their node index: points as-is, polygons by an inner point and,
    when their outline is at least ``min_outline`` long, points along the boundary ``spacing``
    apart at the closest, fewer per node the more nodes there are (``OUTLINE_BUDGET`` in all),
    so the cost grows linearly with the number of units."""
    geoms = np.asarray(nodes_geoms, dtype=object)
    reps = shapely.get_coordinates(shapely.point_on_surface(geoms))
    lengths = shapely.length(geoms)
    big = np.flatnonzero(lengths >= min_outline)
    # Just inside the outline, so polygons that touch never share a generator and the
    # Voronoi edge between them falls on their common edge.
    inner = shapely.buffer(geoms[big], -0.5, quad_segs=1)
    inner = np.where(shapely.is_empty(inner), geoms[big], inner)
    per_node = max(OUTLINE_BUDGET // max(1, len(big)), 4)
    step = np.maximum(spacing, lengths[big] / per_node)
    rings = shapely.segmentize(shapely.boundary(inner), step)
    outline, which = shapely.get_coordinates(rings, return_index=True)
    points = np.vstack([reps, outline])
    labels = np.concatenate([np.arange(len(geoms)), big[which]])
    # Shared vertices (touching parcels) would be duplicate generators: keep the first.
    _, first = np.unique(np.round(points, 2), axis=0, return_index=True)
    first.sort()
    return points[first], labels[first]


def build(
    village: BaseGeometry,
    points: np.ndarray,
    labels: np.ndarray,
    n_nodes: int,
    barriers: BaseGeometry | None,
    node_geoms: np.ndarray | None = None,
) -> CellGraph:
    """The Voronoi cells of ``points`` (one qhull run) and the node graph.

    With ``node_geoms``, nodes that touch are joined into blocks (the gaps between parcels
    are streets): the partition keeps blocks whole where it can.

    Eight guard points far outside the village make every real cell finite (and lift the
    degenerate case of collinear points); the cells share their vertices exactly, so the
    cells of a grid join by a coverage union, and each grid is clipped to the village once.
    Points qhull merges with a near neighbour have no cell; their node is linked to the
    node of the nearest other point so that nothing is left isolated."""
    n = len(points)
    if n < 3:
        return _tiny(village, points, labels, n_nodes)
    x0, y0, x1, y1 = village.bounds
    pad = 4 * (max(x1 - x0, y1 - y0) + 100.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ring = np.array([(-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0)])
    guards = ring * pad + [cx, cy]
    vor = Voronoi(np.vstack([points, guards]), qhull_options="Qbb Qc Qz")
    cells = _cells(vor, n)
    rp = vor.ridge_points
    real = (rp < n).all(axis=1)
    rv = np.asarray([v[:2] for v in vor.ridge_vertices], dtype=np.int64)[real]
    rp = rp[real]
    finite = (rv >= 0).all(axis=1)
    rp, rv = rp[finite], rv[finite]
    span = np.hypot(*(vor.vertices[rv[:, 0]] - vor.vertices[rv[:, 1]]).T)
    labels = _contiguous(labels, rp, span)
    a, b = labels[rp[:, 0]], labels[rp[:, 1]]
    cross = a != b
    rp, rv, a, b = rp[cross], rv[cross], a[cross], b[cross]
    segs = shapely.linestrings(np.stack([vor.vertices[rv[:, 0]], vor.vertices[rv[:, 1]]], axis=1))
    weight = shapely.length(_clip_lines(segs, village))
    keep = weight > 1e-6
    weight, a, b, rp = weight[keep], a[keep], b[keep], rp[keep]
    if barriers is not None and not barriers.is_empty and len(rp):
        links = shapely.linestrings(np.stack([points[rp[:, 0]], points[rp[:, 1]]], axis=1))
        shapely.prepare(barriers)
        crossing = shapely.intersects(barriers, links)
        weight = np.where(crossing, weight * ROAD_DISCOUNT, weight)
    blocks = None
    if node_geoms is not None and len(a):
        apart = _apart(node_geoms, a, b)
        touching = coo_matrix(
            (np.ones(int((~apart).sum())), (a[~apart], b[~apart])), shape=(n_nodes, n_nodes)
        )
        blocks = connected_components(touching, directed=False)[1]
    a, b, weight = _link_isolated(points, labels, n_nodes, a, b, weight)
    m = coo_matrix(
        (np.concatenate([weight, weight]), (np.concatenate([a, b]), np.concatenate([b, a]))),
        shape=(n_nodes, n_nodes),
    ).tocsr()
    m.sum_duplicates()
    return CellGraph(cells=cells, label=labels, adjacency=m, village=village, blocks=blocks)


def _tiny(village: BaseGeometry, points: np.ndarray, labels: np.ndarray, n_nodes: int) -> CellGraph:
    """One or two points: the village itself, or halved by GEOS's Voronoi."""
    if len(points) == 1:
        cells = np.array([village], dtype=object)
    else:
        x0, y0, x1, y1 = village.bounds
        pad = max(x1 - x0, y1 - y0) + 100.0
        env = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        vor = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=env, ordered=True)
        cells = np.asarray(vor.geoms, dtype=object)
    adjacency = csr_matrix((n_nodes, n_nodes))
    if n_nodes == 2 and len(points) == 2:
        adjacency = csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    return CellGraph(cells=cells, label=labels, adjacency=adjacency, village=village)


def _apart(node_geoms: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether the nodes of each pair (a, b) are more than ``GAP_M`` apart."""
    pairs, inv = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
    far = shapely.distance(node_geoms[pairs[:, 0]], node_geoms[pairs[:, 1]]) > GAP_M
    return far[inv.ravel()]


def _contiguous(labels: np.ndarray, rp: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Labels such that the cells of each node form one piece: a node's stray pieces (cells
    cut off from its main piece by a neighbour's cells, as along a thin lot) go to the
    neighbouring node they share the longest edge with."""
    labels = labels.copy()
    n = len(labels)
    for _ in range(3):
        same = labels[rp[:, 0]] == labels[rp[:, 1]]
        links = coo_matrix((np.ones(int(same.sum())), (rp[same, 0], rp[same, 1])), shape=(n, n))
        ncomp, comp = connected_components(links, directed=False)
        pairs, count = np.unique(np.column_stack([labels, comp]), axis=0, return_counts=True)
        order = np.lexsort((-count, pairs[:, 0]))
        pairs = pairs[order]
        first = np.concatenate([[True], pairs[1:, 0] != pairs[:-1, 0]])
        main = np.full(int(labels.max()) + 1, -1)
        main[pairs[first, 0]] = pairs[first, 1]
        stray = comp != main[labels]
        if not stray.any():
            break
        # ridges from a stray point to a settled point of another node
        i, j = rp[:, 0], rp[:, 1]
        src = np.concatenate([i, j])
        dst = np.concatenate([j, i])
        length = np.concatenate([span, span])
        ok = stray[src] & ~stray[dst] & (labels[src] != labels[dst])
        if not ok.any():
            break
        key = np.column_stack([comp[src[ok]], labels[dst[ok]]])
        keys, inv = np.unique(key, axis=0, return_inverse=True)
        total = np.bincount(inv.ravel(), weights=length[ok])
        best = np.lexsort((-total, keys[:, 0]))
        keys = keys[best]
        head = np.concatenate([[True], keys[1:, 0] != keys[:-1, 0]])
        target = np.full(ncomp, -1)
        target[keys[head, 0]] = keys[head, 1]
        move = stray & (target[comp] >= 0)
        labels[move] = target[comp[move]]
    return labels


def _cells(vor: Voronoi, n: int) -> np.ndarray:
    """The (finite) Voronoi polygon of each of the first ``n`` points; empty where qhull
    merged a point with its neighbour."""
    regions = [vor.regions[r] for r in vor.point_region[:n].tolist()]
    sizes = np.array([len(r) if len(r) >= 3 and -1 not in r else 0 for r in regions])
    good = np.flatnonzero(sizes)
    flat = np.fromiter(
        (v for i in good.tolist() for v in regions[i]), dtype=np.int64, count=int(sizes.sum())
    )
    rings = shapely.linearrings(
        vor.vertices[flat], indices=np.repeat(np.arange(len(good)), sizes[good])
    )
    cells = np.full(n, shapely.Polygon(), dtype=object)
    cells[good] = shapely.polygons(rings)
    return cells


def _link_isolated(
    points: np.ndarray,
    labels: np.ndarray,
    n_nodes: int,
    a: np.ndarray,
    b: np.ndarray,
    weight: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges (weight 1 m) from every node without any edge to the node of the nearest point
    of another node (a sliver whose points qhull merged, a speck between parcels)."""
    degree = np.bincount(np.concatenate([a, b]), minlength=n_nodes)
    alone = np.flatnonzero(degree == 0)
    alone = alone[np.isin(alone, labels)]
    if len(alone) == 0 or n_nodes < 2:
        return a, b, weight
    tree = cKDTree(points)
    extra_a, extra_b = [], []
    for node in alone.tolist():
        mine = points[labels == node]
        k = min(len(points), len(mine) + 8)
        _d, idx = tree.query(mine, k=k)
        others = [int(labels[j]) for j in np.ravel(idx).tolist() if labels[j] != node]
        if others:
            extra_a.append(node)
            extra_b.append(others[0])
    ones = np.ones(len(extra_a))
    return (
        np.concatenate([a, np.array(extra_a, dtype=a.dtype)]),
        np.concatenate([b, np.array(extra_b, dtype=b.dtype)]),
        np.concatenate([weight, ones]),
    )


def region(graph: CellGraph, mask: np.ndarray) -> BaseGeometry:
    """The union of the cells selected by ``mask`` (a boolean array over cells), clipped to
    the village: the area of a node or a grid."""
    whole = geometry.union(graph.cells[mask], coverage=True)
    return geometry.overlay("intersection", whole, graph.village)


def _clip_lines(lines: np.ndarray, village: BaseGeometry) -> np.ndarray:
    """``lines`` ∩ village, computing the intersection only where a line is not inside."""
    shapely.prepare(village)
    out = lines.copy()
    edge = np.flatnonzero(~shapely.contains_properly(village, lines))
    if len(edge):
        pieces = _pieces(village)
        tree = shapely.STRtree(pieces)
        src, dst = tree.query(lines[edge])
        parts = shapely.intersection(lines[edge][src], pieces[dst])
        lengths = np.zeros(len(edge))
        np.add.at(lengths, src, shapely.length(parts))
        # only the length is used: a straight segment of the same length stands in
        start = shapely.get_coordinates(shapely.get_point(lines[edge], 0))
        out[edge] = shapely.linestrings(
            np.stack([start, start + np.column_stack([lengths, np.zeros(len(edge))])], axis=1)
        )
    return out


def _pieces(village: BaseGeometry) -> np.ndarray:
    """The village cut into small pieces, so each clip touches only a few vertices."""
    return np.asarray([p for p in _subdivide(village) if not p.is_empty])


def _subdivide(village: BaseGeometry, max_vertices: int = 64) -> list[BaseGeometry]:
    n = shapely.get_num_coordinates(village)
    if n <= max_vertices or village.is_empty:
        return [village]
    x0, y0, x1, y1 = village.bounds
    if x1 - x0 >= y1 - y0:
        a = shapely.box(x0, y0, (x0 + x1) / 2, y1)
        b = shapely.box((x0 + x1) / 2, y0, x1, y1)
    else:
        a = shapely.box(x0, y0, x1, (y0 + y1) / 2)
        b = shapely.box(x0, (y0 + y1) / 2, x1, y1)
    return _subdivide(shapely.intersection(village, a), max_vertices) + _subdivide(
        shapely.intersection(village, b), max_vertices
    )
