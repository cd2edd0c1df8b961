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
from scipy.spatial import Voronoi
from shapely.geometry.base import BaseGeometry

ROAD_DISCOUNT = 0.1  # a shared edge across a road costs a tenth of one inside a block


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

    cells: np.ndarray  # shapely polygons, one per sample point
    label: np.ndarray  # node index of each cell
    adjacency: csr_matrix  # symmetric, weight = discounted shared length in metres


def sample_points(
    nodes_geoms: Sequence[BaseGeometry], spacing: float, min_outline: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample points (x, y) and their node index: points as-is, polygons along the boundary."""
    xy: list[np.ndarray] = []
    lab: list[np.ndarray] = []
    for i, g in enumerate(nodes_geoms):
        if g.geom_type == "Point":
            pts = np.array([[g.x, g.y]])
        else:
            r = g.representative_point()
            pts = np.array([[r.x, r.y]])
            if g.length >= min_outline:
                # Just inside the outline, so polygons that touch never share a generator
                # and the Voronoi edge between them falls on their common edge.
                inner = g.buffer(-0.5, quad_segs=1)
                ring = (inner if not inner.is_empty else g).boundary
                pts = np.vstack([pts, shapely.get_coordinates(shapely.segmentize(ring, spacing))])
        xy.append(pts)
        lab.append(np.full(len(pts), i))
    points = np.vstack(xy)
    labels = np.concatenate(lab)
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
) -> CellGraph:
    """Clip the Voronoi cells of ``points`` to the village and build the node graph."""
    x0, y0, x1, y1 = village.bounds
    pad = max(x1 - x0, y1 - y0) + 100.0
    if len(points) == 1:
        cells = np.array([village])
    else:
        mp = shapely.multipoints(points)
        env = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        vor = shapely.voronoi_polygons(mp, extend_to=env, ordered=True)
        cells = _valid(_clip(np.asarray(vor.geoms), village))
    adjacency = _adjacency(village, points, labels, n_nodes, barriers, pad)
    return CellGraph(cells=cells, label=labels, adjacency=adjacency)


def _adjacency(
    village: BaseGeometry,
    points: np.ndarray,
    labels: np.ndarray,
    n_nodes: int,
    barriers: BaseGeometry | None,
    pad: float,
) -> csr_matrix:
    if len(points) < 3:
        if n_nodes == 2 and len(points) == 2:
            return csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
        return csr_matrix((n_nodes, n_nodes))
    # Tiny jitter-free joggle: collinear inputs (one row of buildings) need the QJ option.
    vor = Voronoi(points, qhull_options="Qbb Qc Qz QJ" if _degenerate(points) else "Qbb Qc Qz")
    rp = vor.ridge_points
    rv = np.array([v if len(v) == 2 else v[:2] for v in vor.ridge_vertices])
    real = (rp < len(points)).all(axis=1)  # Qz adds a point at infinity: not a generator
    rp, rv = rp[real], rv[real]
    a, b = labels[rp[:, 0]], labels[rp[:, 1]]
    cross = a != b
    rp, rv, a, b = rp[cross], rv[cross], a[cross], b[cross]
    segs = _ridge_segments(vor, rp, rv, pad)
    inside = shapely.length(_clip(segs, village))
    keep = inside > 1e-6
    weight = inside[keep]
    a, b, rp = a[keep], b[keep], rp[keep]
    if barriers is not None and not barriers.is_empty and len(rp):
        links = shapely.linestrings(np.stack([points[rp[:, 0]], points[rp[:, 1]]], axis=1))
        shapely.prepare(barriers)
        crossing = shapely.intersects(barriers, links)
        weight = np.where(crossing, weight * ROAD_DISCOUNT, weight)
    m = coo_matrix(
        (np.concatenate([weight, weight]), (np.concatenate([a, b]), np.concatenate([b, a]))),
        shape=(n_nodes, n_nodes),
    ).tocsr()
    m.sum_duplicates()
    return m


def _valid(cells: np.ndarray) -> np.ndarray:
    """The cells, repaired where invalid: Voronoi cells of a regular layout (a lattice of
    buildings, whose points are nearly cocircular) can carry a bow-tie of almost coincident
    vertices, which later unions cannot node."""
    bad = np.flatnonzero(~shapely.is_valid(cells))
    for i in bad.tolist():
        fixed = shapely.make_valid(cells[i])
        if fixed.geom_type == "GeometryCollection":
            fixed = shapely.union_all(
                [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            )
        cells[i] = fixed
    return cells


def _clip(geoms: np.ndarray, village: BaseGeometry) -> np.ndarray:
    """``geoms`` ∩ village, computing the intersection only where a geometry is not inside."""
    shapely.prepare(village)
    out = geoms.copy()
    edge = ~shapely.contains_properly(village, geoms)
    if edge.any():
        pieces = _pieces(village)
        tree = shapely.STRtree(pieces)
        for i in np.flatnonzero(edge).tolist():
            near = pieces[tree.query(geoms[i])]
            out[i] = shapely.union_all(shapely.intersection(geoms[i], near))
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


def _degenerate(points: np.ndarray) -> bool:
    centred = points - points.mean(axis=0)
    return bool(np.linalg.matrix_rank(centred, tol=1e-6) < 2)


def _ridge_segments(vor: Voronoi, rp: np.ndarray, rv: np.ndarray, pad: float) -> np.ndarray:
    """Finite segments for every ridge; infinite ridges are extended outwards by ``pad``."""
    verts = vor.vertices
    start = verts[np.maximum(rv[:, 0], 0)]
    end = verts[np.maximum(rv[:, 1], 0)]
    inf = (rv[:, 0] < 0) | (rv[:, 1] < 0)
    if inf.any():
        centre = vor.points.mean(axis=0)
        finite = np.where(rv[inf, 0] >= 0, rv[inf, 0], rv[inf, 1])
        p0, p1 = vor.points[rp[inf, 0]], vor.points[rp[inf, 1]]
        tangent = p1 - p0
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        mid = (p0 + p1) / 2
        sign = np.sign(np.einsum("ij,ij->i", mid - centre, normal))
        sign[sign == 0] = 1
        far = verts[finite] + normal * sign[:, None] * pad * 4
        start[inf] = verts[finite]
        end[inf] = far
    return shapely.linestrings(np.stack([start, end], axis=1))
