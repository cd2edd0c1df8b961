"""The grid directory and a grid card in real Chromium, at phone size (390×844) and desktop;
"which grid am I in?" with the browser's position."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import shape

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


def point_in(context: Any, base: str, code: str) -> tuple[float, float]:
    grids = context.request.get(base + "/directory/grids.geojson").json()["features"]
    (grid,) = [g for g in grids if g["properties"]["code"] == code]
    p = shape(grid["geometry"]).representative_point()
    return p.x, p.y


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_directory_and_grid_card(browser, demo_server: str, screenshot, viewport) -> None:  # type: ignore[no-untyped-def]
    base, phone = demo_server, viewport == PHONE
    requests: list[str] = []
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(base + "/directory")
    assert page.locator("h1").inner_text() == "网格公示"
    first = page.locator("details.village[open] li.grid-entry").first
    assert "网格长 黄伟" in first.inner_text() and "0769-8888" in first.inner_text()
    if phone:
        page.click("#directory-map-show")
    page.wait_for_selector("#directory-map[data-loaded]")
    assert int(page.get_attribute("#directory-map", "data-loaded") or 0) > 90
    assert page.evaluate(NO_OVERFLOW)
    screenshot(page, "directory")

    code = "44190010100201"
    lon, lat = point_in(context, base, code)
    context.grant_permissions(["geolocation"], origin=base)
    context.set_geolocation({"longitude": lon, "latitude": lat})
    page.click("#locate-me")
    page.wait_for_url(f"**/directory/grids/{code}")
    page.wait_for_selector("#directory-map[data-loaded]")
    assert page.locator(f"a[href='/portal/complain?grid={code}']").is_visible()
    text = page.locator("main").inner_text()
    assert "网格长 黄伟" in text and "网格员 张丽" in text and "0769-8888" in text
    assert "石碣镇网格化服务管理中心" in text
    assert page.evaluate(NO_OVERFLOW)
    screenshot(page, "grid-card")
    outside = [u for u in requests if not u.startswith(base + "/")]
    assert outside == []
    context.close()
