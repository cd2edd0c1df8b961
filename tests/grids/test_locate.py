"""The locator: answers equal brute force (hypothesis), overlays, rebuild on change, outside."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from civgrid.grids.actions import GridDraft, add_grid, adjust_grid, create_grid
from civgrid.grids.locator import OUTSIDE, PolygonIndex
from civgrid.grids.models import Grid
from civgrid.grids.overlays import import_overlay_layer
from civgrid.grids.service import locate_many, locate_point
from tests.grids.conftest import LAT, LON, MX, VILLAGE, M, sq


class _FakeEngine:
    """An engine as ``database_key`` reads it (weakly referenced, with a URL)."""

    url = "x"


def brute_force(polygons: list, x: float, y: float) -> int:  # type: ignore[type-arg]
    p = shapely.Point(x, y)
    return next((i for i, poly in enumerate(polygons) if poly.intersects(p)), OUTSIDE)


def voronoi(seeds: list[tuple[float, float]]) -> list:  # type: ignore[type-arg]
    frame = shapely.box(0, 0, 100, 100)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=frame))
    return [c.intersection(frame) for c in cells if not c.intersection(frame).is_empty]


# whole-metre seeds: GEOS's Voronoi diagram fails on seeds 1e-194 apart, which is no test of ours
coords = st.integers(0, 100).map(float)
points = st.lists(st.tuples(st.floats(-10, 110), st.floats(-10, 110)), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    seeds=st.lists(st.tuples(coords, coords), min_size=2, max_size=40, unique=True),
    queries=points,
    holes=st.integers(0, 3),
)
def test_index_matches_brute_force(seeds, queries, holes) -> None:  # type: ignore[no-untyped-def]
    polygons = voronoi(seeds)
    # drop a few cells so that some points fall in gaps inside the bounding box
    polygons = polygons[holes:] if len(polygons) > holes + 1 else polygons
    index = PolygonIndex(polygons)
    xs = np.array([q[0] for q in queries])
    ys = np.array([q[1] for q in queries])
    # include every polygon vertex: exactly on boundaries is the hardest case
    vx = np.concatenate([xs, shapely.get_coordinates(polygons)[:, 0]])
    vy = np.concatenate([ys, shapely.get_coordinates(polygons)[:, 1]])
    found = index.locate(vx, vy)
    assert found.tolist() == [brute_force(polygons, x, y) for x, y in zip(vx, vy, strict=True)]
    assert [index.locate_one(x, y) for x, y in zip(vx, vy, strict=True)] == found.tolist()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), cuts=st.lists(st.integers(1, 99), min_size=1, max_size=8))
def test_index_on_lattice_edges(n: int, cuts: list[int]) -> None:
    """Square lattices with points exactly on shared edges and corners."""
    polygons = [
        shapely.box(i * 10, j * 10, i * 10 + 10, j * 10 + 10) for i in range(n) for j in range(n)
    ]
    index = PolygonIndex(polygons)
    xs = np.array([c / 10 * n for c in cuts] + [10.0 * k for k in range(n + 1)])
    ys = np.array([10.0 * (k % (n + 1)) for k in range(len(xs))])
    found = index.locate(xs, ys)
    assert found.tolist() == [brute_force(polygons, x, y) for x, y in zip(xs, ys, strict=True)]
    assert [index.locate_one(x, y) for x, y in zip(xs, ys, strict=True)] == found.tolist()


def test_empty_index_says_outside() -> None:
    assert PolygonIndex([]).locate_one(1.0, 2.0) == OUTSIDE
    assert PolygonIndex([shapely.box(0, 0, 1, 1)]).locate_one(float("nan"), 0.5) == OUTSIDE


def test_locate_point_gives_chain_grid_and_overlays(db: Session, two_grids: list[Grid]) -> None:
    import_overlay_layer(
        db, code="police", name="警务区", areas=[("J1", "一区", sq(-50, -50, 120, 150))], actor=None
    )
    loc = locate_point(db, LON + 150 * MX, LAT + 50 * M)
    assert loc is not None
    assert loc.grid_code == "44190010100202" and loc.grid_name == "东片"
    assert loc.division_codes == ["44", "4419", "441900", "441900101", "441900101002"]
    assert loc.overlays == []  # outside the police area
    loc = locate_point(db, LON + 50 * MX, LAT + 50 * M)
    assert loc is not None and loc.overlays == [("police", "J1", "一区")]
    assert locate_point(db, LON - 0.01, LAT) is None  # outside the service area


def test_locate_many_and_rebuild_after_change(db: Session, two_grids: list[Grid]) -> None:
    lons = [LON + 50 * MX, LON + 150 * MX, LON + 250 * MX]
    lats = [LAT + 50 * M] * 3
    before = locate_many(db, lons, lats)
    assert [x.grid_code if x else None for x in before] == [
        "44190010100201",
        "44190010100202",
        None,
    ]
    adjust_grid(db, two_grids[1], actor=None, note="扩大", geometry=sq(100, 0, 300, 100))
    after = locate_many(db, lons, lats)
    assert after[2] is not None and after[2].grid_code == "44190010100202"
    create_grid(db, GridDraft(VILLAGE, sq(300, 0, 400, 100), "新片", 300), actor=None)
    assert locate_point(db, LON + 350 * MX, LAT + 50 * M).grid_code == "44190010100203"  # type: ignore[union-attr]


def test_locator_forgets_a_rolled_back_grid(db: Session, two_grids: list[Grid]) -> None:
    """The cached index follows uncommitted changes and drops them again on rollback."""
    inside_new = (LON + 350 * MX, LAT + 50 * M)
    assert locate_point(db, *inside_new) is None
    nested = db.begin_nested()
    add_grid(db, GridDraft(VILLAGE, sq(300, 0, 400, 100), "新片", 300), actor=None)  # flushed
    assert locate_point(db, *inside_new) is not None
    nested.rollback()
    assert locate_point(db, *inside_new) is None


def test_threads_that_find_no_index_build_it_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A server's first burst of requests waits for one build instead of building in turn."""
    import threading
    import time
    from types import SimpleNamespace

    from civgrid.grids import service

    builds: list[int] = []

    def slow_build(_db: object, fp: tuple[int]) -> object:
        builds.append(1)
        time.sleep(0.05)
        return SimpleNamespace(fingerprint=fp)

    monkeypatch.setattr(service, "_INDEXES", {})
    monkeypatch.setattr(service, "_fingerprint", lambda _db: (1,))
    monkeypatch.setattr(service, "_build_index", slow_build)
    db = SimpleNamespace(get_bind=lambda: SimpleNamespace(engine=_FakeEngine()))
    threads = [
        threading.Thread(target=service.territory_index, args=(db,))  # type: ignore[arg-type]
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1


def test_a_stale_index_is_checked_by_one_thread_while_the_others_use_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Past its recheck time, one request checks the fingerprint; the rest do not wait."""
    import threading
    import time
    from types import SimpleNamespace

    from civgrid.grids import service

    checking, release = threading.Event(), threading.Event()
    checks: list[int] = []

    def slow_fingerprint(_db: object) -> tuple[int]:
        checks.append(1)
        checking.set()
        release.wait(5)
        return (1,)

    index = SimpleNamespace(fingerprint=(1,))
    monkeypatch.setattr(service, "_INDEXES", {"x": service._Cached(index, time.monotonic() - 60)})  # type: ignore[arg-type]
    monkeypatch.setattr(service, "_fingerprint", slow_fingerprint)
    db = SimpleNamespace(get_bind=lambda: SimpleNamespace(engine=_FakeEngine()))
    first = threading.Thread(target=service.territory_index, args=(db,))  # type: ignore[arg-type]
    first.start()
    assert checking.wait(5)
    assert service.territory_index(db) is index  # type: ignore[arg-type]  (served meanwhile)
    release.set()
    first.join()
    assert checks == [1]
    assert service.territory_index(db) is index  # type: ignore[arg-type]  (checked: fresh again)
    assert checks == [1]
