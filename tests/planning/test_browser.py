"""The proposal page in a real browser: upload, the proposal drawn over the current grids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping, shape

pytestmark = pytest.mark.browser

VILLAGE = "441900101002"


def test_proposal_on_the_map(browser, demo_server: str, screenshot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(demo_server + "/login?next=/planning/villages/" + VILLAGE)
    page.fill("#username", "admin")
    page.fill("#password", "civgrid-demo")
    page.click("button[type=submit]")
    # units: a lattice of buildings inside the village's current grids (as a survey would give)
    grids = page.request.get(demo_server + "/api/v1/grids?prefix=" + VILLAGE).json()
    village = shapely.union_all([shape(f["geometry"]) for f in grids["features"]])
    x0, y0, x1, y1 = village.bounds
    points = [
        shapely.Point(x, y)
        for x in np.arange(x0, x1, 0.0006)
        for y in np.arange(y0, y1, 0.0005)
        if village.contains(shapely.Point(x, y))
    ]
    features = [
        {"type": "Feature", "geometry": mapping(p), "properties": {"households": 8 + i % 9}}
        for i, p in enumerate(points)
    ]
    upload = tmp_path / "units.geojson"
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    page.goto(demo_server + "/planning/villages/" + VILLAGE)
    page.set_input_files("input[name=units]", str(upload))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/planning/proposals/*", timeout=60_000)
    # more than 20 shapes drawn (a locator, not wait_for_function: the CSP forbids eval)
    page.locator("#proposal-map path.leaflet-interactive").nth(20).wait_for(timeout=60_000)
    text = page.inner_text("body")
    assert "紧凑度" in text and f"{VILLAGE}01" in text
    # a click on a unit dot and then on a grid fills the nudge form
    page.locator("#proposal-map path.leaflet-interactive").last.click(force=True)
    assert page.input_value("input[name=unit_id]") != ""
    assert screenshot(page, "proposal").stat().st_size > 10_000
    page.close()
