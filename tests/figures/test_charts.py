"""The server-drawn charts: a map's size follows its areas' outlines in pixels, not the number
of grids they are made of; charts name the report's fonts."""

from __future__ import annotations

import re

from shapely.geometry import box
from shapely.ops import unary_union

from civgrid.figures import charts


def _township(side: int) -> charts.Area:
    """A square township tiled by side × side grids whose borders miss each other by a hair,
    as hand-drawn grids do."""
    step = 0.1 / side
    grids = [
        box(113 + i * step, 22 + j * step, 113 + (i + 1) * step - 1e-9, 22 + (j + 1) * step)
        for i in range(side)
        for j in range(side)
    ]
    return charts.Area("441900101", "石碣镇", unary_union(grids), 0.5, "50%", "/figures")


def test_a_map_grows_with_its_outlines_not_with_its_grids() -> None:
    few = charts.choropleth([_township(4)], title="map", good="up")
    many = charts.choropleth([_township(60)], title="map", good="up")
    # 3,600 grids apart by less than a pixel draw as one square, like 16 of them
    (path,) = re.findall(r' d="([^"]*)"', many)
    assert path.count("M") == 1 and path.count("L") == 4
    assert len(many) == len(few)


def test_charts_name_the_report_fonts() -> None:
    svg = charts.line_chart([("2026-10", 0.5), ("2026-11", 0.6)], title="trend", percent=True)
    assert 'font-family="Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"' in svg
