"""Code sequencing (rows north→south, west→east within a row) and GCJ-02 conversion."""

from __future__ import annotations

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from civgrid.errors import Invalid
from civgrid.grids.codes import assign_codes, grid_code, rows_of, sequence_order
from civgrid.grids.geo import gcj02_to_wgs84, wgs84_to_gcj02

boxes = st.lists(
    st.tuples(st.floats(-1000, 1000), st.floats(-1000, 1000), st.floats(1, 200), st.floats(1, 200)),
    min_size=1,
    max_size=30,
)


@given(boxes)
def test_sequence_is_rows_north_to_south_then_west_to_east(spec) -> None:  # type: ignore[no-untyped-def]
    geoms = [shapely.box(x, y, x + w, y + h) for x, y, w, h in spec]
    order = sequence_order(geoms)
    assert sorted(order) == list(range(len(geoms)))
    rows = rows_of(geoms)
    cx = [g.centroid.x for g in geoms]
    for a, b in zip(order, order[1:], strict=False):
        assert rows[a] < rows[b] or (rows[a] == rows[b] and cx[a] <= cx[b])


@given(st.integers(1, 9), st.integers(1, 9))
def test_regular_lattice_reads_like_a_page(cols: int, rows: int) -> None:
    # listed column by column from the south, the opposite of reading order
    cells = [(c, r) for c in range(cols) for r in range(rows)]
    geoms = [shapely.box(c * 10, r * 10, c * 10 + 10, r * 10 + 10) for c, r in cells]
    codes = assign_codes("441900101002", geoms, digits=3)
    seq = {cell: int(code[12:]) for cell, code in zip(cells, codes, strict=True)}
    assert seq[(0, rows - 1)] == 1  # north-west corner first
    assert all(seq[(c, r)] == (rows - 1 - r) * cols + c + 1 for c, r in cells)


def test_grid_code_bounds() -> None:
    assert grid_code("441900101002", 7) == "44190010100207"
    assert grid_code("441900101002", 7, digits=3) == "441900101002007"
    with pytest.raises(Invalid, match="does not fit"):
        grid_code("441900101002", 100)
    with pytest.raises(Invalid, match="12 digits"):
        grid_code("4419001", 1)


# WGS84 → GCJ-02 pairs computed with an independent implementation (eviltransform 0.1.1).
REFERENCE = [
    ((113.78, 23.09), (113.785163, 23.0872906)),
    ((116.397428, 39.90923), (116.4036717, 39.9106335)),
    ((121.4737, 31.2304), (121.4782231, 31.2284577)),
    ((104.0665, 30.5723), (104.0690049, 30.5698455)),
]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj02_reference_pairs(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=2e-7)
    assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=2e-6)


@given(st.floats(73, 135), st.floats(18, 53))
def test_gcj02_round_trip(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert back == pytest.approx((lon, lat), abs=1e-7)  # about a centimetre


def test_gcj02_outside_china_is_unchanged() -> None:
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
