"""Grid division: civgrid against PySAL spopt max-p (floor) and METIS, on the same inputs.

Inputs: the 749 Cambridge street blocks (shared/data/geo, ODC PDDL), the generated 13 k
building township (civgrid.planning.synthetic) and assessor-like parcels derived from the
blocks (civgrid.planning.parcels: lots with street gaps, zero-unit lots, a heavy tail, 0.3 %
self-touching rings, features without geometry) at 1 k, 13 k and 50 k, divided end to end
from the published features (repair, skip, project, divide) with the boundary around them.
Every method partitions the same node graph (civgrid's Voronoi cell adjacency) and is scored
on the same cell tiling: time, share of parts in the household band (parts that are one unit
above the band maximum are left out: no method can fix them), contiguity (graph connectivity
for the references; for civgrid the final polygons are single polygons) and Polsby-Popper
median. max-p runs in a child process with a time cap, on one village of the township.

    .venv/bin/python bench/divide.py [--maxp-cap 60] [--parcels 1000,13000,50000]
        [--repeat 5] [--only parcels]

``--repeat`` divides each parcel case that many times and reports the median seconds, with
the load average before each run (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue as queue_module
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pymetis
import pyogrio
import shapely
from scipy.sparse.csgraph import connected_components

from civgrid.grids.checks import polsby_popper
from civgrid.planning.cells import region
from civgrid.planning.divide import Prepared, divide, divide_village, prepare
from civgrid.planning.inputs import Unit, boundary_around, repair_units
from civgrid.planning.parcels import parcels
from civgrid.planning.report import check_proposal
from civgrid.planning.synthetic import township

_ROOT = Path(__file__).resolve().parents[1]
CAMBRIDGE = next(
    p
    for p in (
        _ROOT.parent / "shared/data/geo/cambridge_blocks_units.gpkg",
        Path("/work/shared/data/geo/cambridge_blocks_units.gpkg"),
        _ROOT / "tests/fixtures/geo/cambridge_blocks_units.gpkg",  # the same file
    )
    if p.exists()
)
BAND = (300, 500)
warnings.filterwarnings("ignore", category=DeprecationWarning)  # pymetis's xadj/adjncy API


def road_share(village: Any, polys: list[Any], roads: Any) -> float:
    """Share of the internal grid boundary within 15 m of a road or river (as check 3)."""
    lines = shapely.union_all([p.boundary for p in polys])
    internal = lines.difference(village.boundary.buffer(0.5))
    if internal.length == 0:
        return 1.0
    return float(internal.intersection(roads.buffer(15)).length / internal.length)


def score(prep: Prepared, part: np.ndarray, seconds: float, roads: Any = None) -> dict[str, Any]:
    """In-band share, contiguity and compactness of a node partition on the cell tiling."""
    w = np.array([n.households for n in prep.nodes])
    parts = np.unique(part)
    loads = np.array([w[part == p].sum() for p in parts])
    single_big = np.array([(part == p).sum() == 1 and w[part == p][0] > BAND[1] for p in parts])
    judged = loads[~single_big]
    in_band = float(np.mean((judged >= BAND[0]) & (judged <= BAND[1]))) if len(judged) else 1.0
    adj = prep.graph.adjacency
    connected = 0
    pp = []
    polys = []
    cell_part = part[prep.graph.label]
    for p in parts:
        idx = np.flatnonzero(part == p)
        n, _ = connected_components(adj[idx][:, idx], directed=False)
        poly = region(prep.graph, cell_part == p)
        connected += int(n == 1)  # graph contiguity: what the partitioner itself controls
        pp.append(polsby_popper(poly))
        polys.append(poly)
    share = road_share(prep.village, polys, roads) if roads is not None else None
    return {
        "road_share": None if share is None else round(share, 3),
        "seconds": round(seconds, 3),
        "parts": len(parts),
        "in_band": round(in_band, 4),
        "contiguous": round(connected / len(parts), 4),
        "pp_median": round(float(np.median(pp)), 3),
    }


def run_metis(prep: Prepared, contiguous: bool, roads: Any = None) -> dict[str, Any]:
    w = np.array([n.households for n in prep.nodes])
    g = prep.graph.adjacency
    k = max(1, round(w.sum() / sum(BAND) * 2))
    t0 = time.perf_counter()
    _cut, parts = pymetis.part_graph(
        k,
        xadj=g.indptr,
        adjncy=g.indices,
        vweights=w,
        contiguous=contiguous,
    )
    return score(prep, np.asarray(parts), time.perf_counter() - t0, roads)


def _maxp_child(prep_data: tuple[Any, ...], queue: Any) -> None:
    import geopandas as gpd
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    geoms, households, neighbours = prep_data
    gdf = gpd.GeoDataFrame({"households": households}, geometry=geoms)
    weights = W(neighbours, silence_warnings=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MaxPHeuristic(
            gdf, weights, [], "households", BAND[0], top_n=2, max_iterations_construction=99
        )
        model.solve()
    queue.put((np.asarray(model.labels_), time.perf_counter() - t0))


def run_maxp(prep: Prepared, cap: float) -> dict[str, Any]:
    """spopt max-p with the floor constraint, in a child process killed after ``cap`` s."""
    geoms = list(prep.node_geoms)
    households = [n.households for n in prep.nodes]
    g = prep.graph.adjacency
    neighbours = {i: g.indices[g.indptr[i] : g.indptr[i + 1]].tolist() for i in range(g.shape[0])}
    queue: Any = mp.get_context("fork").Queue()
    child = mp.get_context("fork").Process(
        target=_maxp_child, args=((geoms, households, neighbours), queue)
    )
    child.start()
    # Read the result before joining: a child blocks on exit until its queue is drained.
    deadline = time.monotonic() + cap
    while True:
        try:
            labels, seconds = queue.get(timeout=1)
            break
        except queue_module.Empty:
            if not child.is_alive():
                try:
                    labels, seconds = queue.get(timeout=1)
                    break
                except queue_module.Empty:
                    return {"error": f"max-p ended without a result (exit {child.exitcode})"}
            if time.monotonic() > deadline:
                child.kill()  # SIGKILL: the solver does not stop on SIGTERM
                child.join()
                return {"seconds": cap, "timed_out": True}
    child.join()
    return score(prep, labels, seconds)


def run_civgrid(
    name: str, villages: dict[str, Any], units: list[Unit], **kw: Any
) -> dict[str, Any]:
    t0 = time.perf_counter()
    proposals = divide(villages, units, band=BAND, **kw)
    seconds = time.perf_counter() - t0
    share = None
    if kw.get("roads"):
        internal = along = 0.0
        for p in proposals:
            sites = [
                s
                for s in kw["protected"]
                if s.geometry.intersection(villages[p.village_code]).area > 0
            ]
            r = check_proposal(p, villages[p.village_code], roads=kw["roads"], protected=sites)
            internal += r.internal_boundary_m
            along += r.internal_road_share * r.internal_boundary_m
        share = round(along / internal, 3) if internal else 1.0
    grids = [g for p in proposals for g in p.grids]
    comp = [g for g in grids if g.kind != "exclusive" or g.households <= BAND[1]]
    return {
        "road_share": share,
        "seconds": round(seconds, 3),
        "parts": len(grids),
        "in_band": round(float(np.mean([BAND[0] <= g.households <= BAND[1] for g in comp])), 4),
        "contiguous": round(float(np.mean([g.contiguous for g in grids])), 4),
        "pp_median": round(float(np.median([g.polsby_popper for g in grids])), 3),
        "explanations": sum(len(p.explanations) for p in proposals),
    }


def cambridge() -> tuple[dict[str, Any], list[Unit]]:
    df = pyogrio.read_dataframe(CAMBRIDGE)
    units = [
        Unit(str(b), g, int(h)) for b, g, h in zip(df.block_id, df.geometry, df.units, strict=True)
    ]
    return {"250000000001": boundary_around([u.geometry for u in units])}, units


def table(name: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{name}")
    print(
        f"{'method':<22}{'seconds':>9}{'parts':>7}{'in band':>9}{'contig.':>9}{'PP med':>8}"
        f"{'on roads':>10}"
    )
    for method, r in rows.items():
        if r.get("timed_out"):
            print(f"{method:<22}{'>' + str(r['seconds']):>9}   (timed out)")
            continue
        if r.get("error"):
            print(f"{method:<22}{'':>9}   (failed: {r['error']})")
            continue
        print(
            f"{method:<22}{r['seconds']:>9.2f}{r['parts']:>7}{r['in_band']:>9.1%}"
            f"{r['contiguous']:>9.1%}{r['pp_median']:>8.3f}"
            + (f"{r['road_share']:>10.1%}" if r.get("road_share") is not None else f"{'n/a':>10}")
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--maxp-cap", type=float, default=60.0)
    ap.add_argument("--parcels", default="1000,13000,50000", help="parcel counts")
    ap.add_argument("--repeat", type=int, default=1, help="runs per parcel case (median)")
    ap.add_argument("--only", choices=["all", "parcels"], default="all")
    args = ap.parse_args()
    results: dict[str, dict[str, Any]] = {}
    sizes = [int(x) for x in args.parcels.split(",") if x]
    if args.only == "parcels":
        summary = {f"parcels_{n}": parcel_case(n, args.maxp_cap, args.repeat) for n in sizes}
        print(json.dumps({"bench": "divide_parcels", **_flat(summary)}))
        return

    villages, units = cambridge()
    boundary = next(iter(villages.values()))
    prep = prepare(boundary, units, band=BAND)
    rows = {
        "civgrid": run_civgrid("cambridge", villages, units, digits=3),  # ~100 grids
        "metis": run_metis(prep, contiguous=False),
        "metis contiguous": run_metis(prep, contiguous=True),
        "spopt max-p": run_maxp(prep, args.maxp_cap),
    }
    table("Cambridge, 749 blocks, 42,443 households", rows)
    results["cambridge"] = rows

    town = township()
    rows = {
        "civgrid": run_civgrid(
            "township", town.villages, town.units, roads=town.roads, protected=town.protected
        )
    }
    # METIS and max-p see each village's graph; their figures are pooled over the villages.
    first = next(iter(town.villages))
    per_village = []
    for code, boundary in town.villages.items():
        vunits = [u for u in town.units if boundary.covers(u.geometry.representative_point())]
        sites = [s for s in town.protected if s.geometry.intersection(boundary).area > 0]
        prep = prepare(boundary, vunits, roads=town.roads, protected=sites, band=BAND)
        lines = shapely.union_all([prep.frame.to_metric(r) for r in town.roads])
        per_village.append((code, prep, lines))
    for contiguous in (False, True):
        parts = [run_metis(p, contiguous, lines) for _c, p, lines in per_village]
        rows["metis contiguous" if contiguous else "metis"] = _pool(parts)
    rows[f"max-p ({first[-2:]} only)"] = run_maxp(per_village[0][1], args.maxp_cap)
    total = sum(u.households for u in town.units)
    table(f"Township, {len(town.units):,} buildings, {total:,} households", rows)
    results["township"] = rows

    summary = {f"parcels_{n}": parcel_case(n, args.maxp_cap, args.repeat) for n in sizes}
    ours_c, ours_t = results["cambridge"]["civgrid"], results["township"]["civgrid"]
    metis_c = results["cambridge"]["metis contiguous"]
    print(
        json.dumps(
            {
                "bench": "divide",
                "cambridge_seconds": ours_c["seconds"],
                "cambridge_in_band": ours_c["in_band"],
                "cambridge_pp_median": ours_c["pp_median"],
                "township_seconds": ours_t["seconds"],
                "township_in_band": ours_t["in_band"],
                "township_contiguous": ours_t["contiguous"],
                "township_pp_median": ours_t["pp_median"],
                "township_road_share": ours_t["road_share"],
                "metis_township_road_share": results["township"]["metis contiguous"]["road_share"],
                "maxp_cambridge_in_band": results["cambridge"]["spopt max-p"].get("in_band"),
                "metis_cambridge_in_band": metis_c["in_band"],
                "ratio_in_band_vs_metis": round(ours_c["in_band"] / metis_c["in_band"], 3),
                **_flat(summary),
            }
        )
    )


def parcel_case(n: int, cap: float, repeat: int) -> dict[str, dict[str, Any]]:
    """Parcels end to end (repair, skip, boundary around, divide) against METIS and max-p on
    the same parcel graph; civgrid's seconds are the median of ``repeat`` runs."""
    features = parcels(CAMBRIDGE, n)
    units = [Unit(p.id, p.geometry, p.units) for p in features]  # type: ignore[arg-type]
    runs, loads = [], []
    for _ in range(repeat):
        loads.append(round(os.getloadavg()[0], 2))
        t0 = time.perf_counter()
        boundary = boundary_around([u.geometry for u in repair_units(units)[0]])
        p = divide_village("250000000001", boundary, units, band=BAND, digits=3)
        runs.append(time.perf_counter() - t0)
    grids = p.grids
    comp = [g for g in grids if g.kind != "exclusive"]
    ours = {
        "seconds": round(float(np.median(runs)), 3),
        "runs": [round(r, 2) for r in runs],
        "load_1min": loads,
        "parts": len(grids),
        "in_band": round(float(np.mean([BAND[0] <= g.households <= BAND[1] for g in comp])), 4),
        "contiguous": round(float(np.mean([g.contiguous for g in grids])), 4),
        "pp_median": round(float(np.median([g.polsby_popper for g in grids])), 3),
        "skipped": len(p.notes.skipped),
        "repaired": len(p.notes.repaired),
        "road_share": None,
    }
    usable = repair_units(units)[0]
    prep = prepare(boundary, usable, band=BAND)
    print(f"parcels {n}: civgrid {json.dumps(ours)}", flush=True)
    rows = {"civgrid": ours}
    for name, contiguous in (("metis", False), ("metis contiguous", True)):
        try:
            rows[name] = run_metis(prep, contiguous=contiguous)
        except RuntimeError as exc:  # METIS's contiguous mode fails on some graphs
            rows[name] = {"error": str(exc), "in_band": None}
    rows["spopt max-p"] = run_maxp(prep, cap)
    total = sum(u.households for u in usable)
    table(f"Parcels, {n:,} features, {total:,} households (load {loads})", rows)
    if repeat > 1:
        print(f"civgrid runs (s): {ours['runs']}, median {ours['seconds']}")
    return rows


def _flat(summary: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case, rows in summary.items():
        ours = rows["civgrid"]
        out[f"{case}_seconds"] = ours["seconds"]
        out[f"{case}_load"] = ours["load_1min"]
        out[f"{case}_in_band"] = ours["in_band"]
        out[f"{case}_single_polygon"] = ours["contiguous"]
        out[f"{case}_pp_median"] = ours["pp_median"]
        out[f"{case}_metis_in_band"] = rows["metis"]["in_band"]
        out[f"{case}_metis_contiguous_in_band"] = rows["metis contiguous"].get("in_band")
        maxp = rows["spopt max-p"]
        out[f"{case}_maxp"] = maxp.get("in_band") or maxp.get("error") or "timed out"
    return out


def _pool(rows: list[dict[str, Any]]) -> dict[str, Any]:
    parts = sum(r["parts"] for r in rows)
    return {
        "seconds": round(sum(r["seconds"] for r in rows), 3),
        "parts": parts,
        "in_band": round(sum(r["in_band"] * r["parts"] for r in rows) / parts, 4),
        "contiguous": round(sum(r["contiguous"] * r["parts"] for r in rows) / parts, 4),
        "pp_median": round(float(np.median([r["pp_median"] for r in rows])), 3),
        "road_share": round(float(np.mean([r["road_share"] for r in rows])), 3),
    }


if __name__ == "__main__":
    sys.exit(main())
