"""Bulk point location: 1 M random points in 10 k synthetic grids.

civgrid's locator (``civgrid.grids.locator.PolygonIndex``: a raster pre-index whose boundary
cells fall back to an exact shapely STRtree query) against, in the same run:
- a plain vectorised shapely 2 STRtree query (``tree.query(points, predicate="intersects")``);
- a naive shapely loop (each point tested against every grid until one contains it), timed on
  a small sample and extrapolated per point, because the full 1 M would take hours.
PostgreSQL here has no PostGIS, so per-point ``ST_Contains`` is not measured.

Grids are the Voronoi cells of 10 k random seeds over a 50 × 40 km area near Dongguan,
densified to ~50 m segments (surveyed boundaries have many vertices); about 9 % of the points fall
outside every grid. Answers are checked against the exact STRtree answer for every point.

    .venv/bin/python bench/locate.py [--points 1000000] [--grids 10000] [--naive 200]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import shapely

from civgrid.grids.locator import OUTSIDE, PolygonIndex


def synthetic_grids(n: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    x0, y0, x1, y1 = 113.50, 22.85, 113.99, 23.21  # ~50 × 40 km
    seeds = shapely.MultiPoint(rng.uniform((x0, y0), (x1, y1), (n, 2)))
    frame = shapely.box(x0, y0, x1, y1)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    return list(shapely.segmentize(shapely.intersection(cells, frame), 0.0005))


def best_of(runs: int, fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=200, help="points in the naive-loop sample")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    grids = synthetic_grids(args.grids, rng)
    vertices = int(shapely.get_num_coordinates(np.asarray(grids, dtype=object)).sum())
    print(f"{len(grids)} grids, {vertices / len(grids):.0f} vertices per grid on average")
    # a margin around the area: about 9 % of the points fall outside every grid
    xs = rng.uniform(113.50 - 0.0125, 113.99 + 0.0125, args.points)
    ys = rng.uniform(22.85 - 0.009, 23.21 + 0.009, args.points)

    t = time.perf_counter()
    index = PolygonIndex(grids)
    build_s = time.perf_counter() - t
    ny, nx = index.cells.shape
    print(f"index built in {build_s:.2f} s: {nx}×{ny} cells, {index.boundary_share:.1%} boundary")

    civgrid_s, found = best_of(3, lambda: index.locate(xs, ys))
    assert isinstance(found, np.ndarray)
    print(f"civgrid locator:  {args.points / civgrid_s:>12,.0f} points/s ({civgrid_s:.3f} s)")

    tree_s, exact = best_of(1, lambda: index._exact(xs, ys))
    assert isinstance(exact, np.ndarray)
    agree = int((exact == found).sum())
    print(f"shapely STRtree:  {args.points / tree_s:>12,.0f} points/s ({tree_s:.3f} s)")
    print(f"agreement with the exact STRtree answer: {agree}/{args.points}")
    if agree != args.points:
        raise SystemExit("the locator disagrees with the exact answer")

    prepared = np.asarray(grids, dtype=object)
    shapely.prepare(prepared)
    sample = rng.choice(args.points, size=args.naive, replace=False)

    def naive() -> list[int]:
        out = []
        for i in sample:
            p = shapely.Point(xs[i], ys[i])
            out.append(next((j for j, g in enumerate(prepared) if g.intersects(p)), OUTSIDE))
        return out

    naive_s, naive_found = best_of(1, naive)
    assert naive_found == found[sample].tolist()
    naive_rate = args.naive / naive_s
    print(
        f"naive shapely loop: {naive_rate:>10,.0f} points/s "
        f"(sampled {args.naive} points, extrapolated)"
    )
    outside = float((found == OUTSIDE).mean())
    print(f"outside the service area: {outside:.1%} of the points")
    print(
        json.dumps(
            {
                "bench": "locate",
                "points": args.points,
                "grids": len(grids),
                "points_per_s": round(args.points / civgrid_s),
                "strtree_points_per_s": round(args.points / tree_s),
                "naive_points_per_s": round(naive_rate, 1),
                "ratio_vs_strtree": round(tree_s / civgrid_s, 2),
                "ratio_vs_naive": round((args.points / civgrid_s) / naive_rate, 1),
                "naive_sampled_points": args.naive,
                "index_build_s": round(build_s, 2),
                "boundary_cell_share": round(index.boundary_share, 4),
                "st_contains": None,
            }
        )
    )


if __name__ == "__main__":
    main()
