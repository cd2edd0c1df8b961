"""Point-in-polygon index: a raster pre-index with an exact STRtree fallback on boundary cells.

The bounding box of all polygons is cut into square cells. Every cell that any polygon
boundary may touch is marked "boundary" (conservatively: each boundary is densified to half a
cell and every cell of the box spanned by each short piece is marked). The remaining cells
form connected regions that no boundary crosses, so each region lies wholly inside one
polygon or wholly outside all of them; one representative point per region
(``scipy.ndimage.label``) is located exactly. A query point then costs one array lookup,
and only points in boundary cells go to the exact shapely query.

Answers equal the brute-force rule "the lowest index ``i`` with ``polygons[i].intersects(point)``,
or -1", which the property test checks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

OUTSIDE = -1
BOUNDARY = -2
CELLS_PER_POLYGON = 1024  # ~32×32 cells per polygon keeps the boundary share small
MAX_CELLS = 4096 * 4096
EDGE_EPS = 1e-6  # in cells: far above the rounding error of (x - x0) / size


class PolygonIndex:
    """Locate points in a fixed list of polygons; built once, queried many times."""

    def __init__(self, polygons: Sequence[BaseGeometry], *, max_cells: int = MAX_CELLS) -> None:
        self.polygons = np.asarray(list(polygons), dtype=object)
        self.tree = shapely.STRtree(self.polygons)
        if len(self.polygons) == 0:
            self.cells = np.full((1, 1), OUTSIDE, dtype=np.int32)
            self.x0 = self.y0 = 0.0
            self.size = 1.0
            return
        shapely.prepare(self.polygons)
        x0, y0, x1, y1 = shapely.total_bounds(self.polygons)
        want = min(max_cells, max(64 * 64, CELLS_PER_POLYGON * len(self.polygons)))
        self.size = max(math.sqrt(max(x1 - x0, 1e-12) * max(y1 - y0, 1e-12) / want), 1e-12)
        self.x0, self.y0 = float(x0), float(y0)
        nx = int((x1 - x0) / self.size) + 1
        ny = int((y1 - y0) / self.size) + 1
        self.cells = self._build(nx, ny)

    def _build(self, nx: int, ny: int) -> np.ndarray:
        boundary = np.zeros((ny, nx), dtype=bool)
        lines = shapely.segmentize(shapely.boundary(self.polygons), self.size / 2)
        for line in shapely.get_parts(lines):
            xy = shapely.get_coordinates(line)
            fx = (xy[:, 0] - self.x0) / self.size
            fy = (xy[:, 1] - self.y0) / self.size
            ix = np.clip(fx.astype(np.int64), 0, nx - 1)
            iy = np.clip(fy.astype(np.int64), 0, ny - 1)
            # a piece no longer than half a cell stays inside the box of its two end cells
            for a, b in (
                (ix[:-1], iy[:-1]),
                (ix[1:], iy[1:]),
                (ix[:-1], iy[1:]),
                (ix[1:], iy[:-1]),
            ):
                boundary[b, a] = True
            # a vertex within rounding distance of a cell edge marks the cell across it too,
            # so that a boundary running along a cell edge is never binned to one side only
            for near, step, axis in (
                (fx - np.floor(fx) < EDGE_EPS, -1, 0),
                (np.ceil(fx) - fx < EDGE_EPS, 1, 0),
                (fy - np.floor(fy) < EDGE_EPS, -1, 1),
                (np.ceil(fy) - fy < EDGE_EPS, 1, 1),
            ):
                if near.any():
                    jx = np.clip(ix[near] + (step if axis == 0 else 0), 0, nx - 1)
                    jy = np.clip(iy[near] + (step if axis == 1 else 0), 0, ny - 1)
                    boundary[jy, jx] = True
                    boundary[
                        np.clip(jy + (1 if axis == 0 else 0), 0, ny - 1),
                        np.clip(jx + (1 if axis == 1 else 0), 0, nx - 1),
                    ] = True
                    boundary[
                        np.clip(jy - (1 if axis == 0 else 0), 0, ny - 1),
                        np.clip(jx - (1 if axis == 1 else 0), 0, nx - 1),
                    ] = True
        regions, count = ndimage.label(~boundary)
        cells = np.full((ny, nx), BOUNDARY, dtype=np.int32)
        if count:
            # any cell of a region is a representative; its centre decides the whole region
            flat = regions.ravel()
            order = np.argsort(flat, kind="stable")
            starts = np.searchsorted(flat[order], np.arange(1, count + 1))
            rep = order[starts]
            ry, rx = np.divmod(rep, nx)
            labels = self._exact(self.x0 + (rx + 0.5) * self.size, self.y0 + (ry + 0.5) * self.size)
            lut = np.concatenate([[BOUNDARY], labels]).astype(np.int32)
            cells = lut[regions]
        return cells

    def _exact(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """The lowest intersecting polygon index per point, or OUTSIDE (shapely, exact)."""
        out = np.full(len(xs), OUTSIDE, dtype=np.int64)
        if len(xs) == 0 or len(self.polygons) == 0:
            return out
        pts, hits = self.tree.query(shapely.points(xs, ys), predicate="intersects")
        order = np.lexsort((hits, pts))  # by point, then polygon index: first is the lowest
        pts, hits = pts[order], hits[order]
        first = np.ones(len(pts), dtype=bool)
        first[1:] = pts[1:] != pts[:-1]
        out[pts[first]] = hits[first]
        return out

    def locate(
        self, xs: np.ndarray | Sequence[float], ys: np.ndarray | Sequence[float]
    ) -> np.ndarray:
        """Index of the polygon holding each point (lowest index on shared edges), or -1."""
        x = np.asarray(xs, dtype=np.float64)
        y = np.asarray(ys, dtype=np.float64)
        fx = (x - self.x0) / self.size
        fy = (y - self.y0) / self.size
        ny, nx = self.cells.shape
        inside = (fx >= 0) & (fy >= 0) & (fx < nx) & (fy < ny)
        out = np.full(len(x), OUTSIDE, dtype=np.int64)
        ix = fx[inside].astype(np.int64)
        iy = fy[inside].astype(np.int64)
        out[inside] = self.cells[iy, ix]
        edge = np.flatnonzero(out == BOUNDARY)
        if len(edge):
            out[edge] = self._exact(x[edge], y[edge])
        return out

    def locate_one(self, x: float, y: float) -> int:
        """Index of the polygon holding one point, or -1: ``locate`` without arrays."""
        fx = (x - self.x0) / self.size
        fy = (y - self.y0) / self.size
        ny, nx = self.cells.shape
        if not (0 <= fx < nx and 0 <= fy < ny):  # NaN too
            return OUTSIDE
        cell = int(self.cells[int(fy), int(fx)])
        if cell != BOUNDARY:
            return cell
        return int(self._exact(np.array([x]), np.array([y]))[0])

    @property
    def boundary_share(self) -> float:
        """Share of cells that need the exact fallback (a measure of the index's quality)."""
        return float((self.cells == BOUNDARY).mean())
