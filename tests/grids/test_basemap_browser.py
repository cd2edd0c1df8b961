"""Street context on the maps without tiles (issue 19, point 19), in real Chromium on the demo:
roads and rivers drawn, village names when zoomed out, grid and road names when zoomed in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ARTIFACTS, BACKEND

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
# Lines of the context pane: roads (casing and line) and rivers, never clickable.
CONTEXT_PATHS = ".leaflet-civgrid-context-pane path"
SHOWN = """(sel) => [...document.querySelectorAll(sel)]
  .filter(n => getComputedStyle(n).visibility !== "hidden").length"""
VISIBLE = "(sel) => [...document.querySelectorAll(sel)].filter(n => n.offsetParent !== null).length"


def context(page: Any, map_id: str) -> dict[str, str]:
    page.wait_for_selector(f"#{map_id}[data-context]", timeout=60_000)
    data: dict[str, str] = page.evaluate(
        f"() => Object.assign({{}}, document.getElementById('{map_id}').dataset)"
    )
    assert "contextError" not in data and "error" not in data
    return data


def map_shot(request: pytest.FixtureRequest, page: Any, map_id: str, name: str) -> None:
    """The map alone, saved as test-artifacts/<backend>/<test>-<name>.png (pages are long)."""
    folder = ARTIFACTS / BACKEND
    folder.mkdir(parents=True, exist_ok=True)
    page.locator(f"#{map_id}").screenshot(path=str(folder / f"{request.node.name}-{name}.png"))


def zoom_in(page: Any, map_id: str, times: int) -> None:
    for _ in range(times):
        page.click(f"#{map_id} .leaflet-control-zoom-in")
        page.wait_for_timeout(400)
    page.wait_for_timeout(800)  # the finer lines of the new zoom


def test_board_map_shows_roads_rivers_and_names(browser, demo_server: str, request) -> None:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    context_ = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context_.on("request", lambda r: requests.append(r.url))
    page = context_.new_page()
    page.goto(demo_server + "/board")
    page.wait_for_selector("#board-map[data-loaded]", timeout=60_000)
    data = context(page, "board-map")
    assert int(data["contextRoads"]) > 20  # the town's streets and village roads
    assert data["contextRivers"] == "2"  # 东江 and 石碣涌
    assert data["contextVillages"] == "15"
    assert page.locator(CONTEXT_PATHS).count() >= 2 * 20 + 2
    assert page.locator(f"{CONTEXT_PATHS}.leaflet-interactive").count() == 0
    labels = page.locator(".map-label-village")
    assert labels.count() == 15 and "四甲村" in labels.all_inner_texts()
    assert page.locator(".map-label-grid").count() == 0  # too small to name yet
    assert set(page.locator(".map-label-river").all_inner_texts()) == {"东江", "石碣涌"}
    map_shot(request, page, "board-map", "town")

    zoom_in(page, "board-map", 3)
    assert page.evaluate(VISIBLE, ".map-label-grid") > 0
    assert page.locator(".map-label-village").count() == 0
    assert page.locator(".map-label-road").count() > 0
    map_shot(request, page, "board-map", "zoomed")
    outside = [u for u in requests if not u.startswith(demo_server + "/")]
    assert outside == []  # no tiles from the internet: the context is the territory data
    context_.close()


def test_directory_grid_card_map_is_clipped_to_its_village(
    browser, demo_server: str, request
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(demo_server + "/directory/grids/44190010120602")
    page.wait_for_selector("#directory-map[data-loaded]", timeout=60_000)
    data = context(page, "directory-map")
    assert data["area"] == "441900101206"
    assert 0 < int(data["contextRoads"]) < 15  # the village's roads and the way in, not all
    assert data["contextVillages"] == "1"
    assert page.evaluate(VISIBLE, ".map-label-grid") > 0  # one grid fills the map: names
    assert "四甲村第2网格" in page.locator(".map-label-grid").all_inner_texts()
    map_shot(request, page, "directory-map", "grid-card")
    page.close()


def test_directory_map_names_villages(browser, demo_server: str, request) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(demo_server + "/directory")
    page.wait_for_selector("#directory-map[data-loaded]", timeout=60_000)
    data = context(page, "directory-map")
    assert data["contextVillages"] == "15" and data["contextRivers"] == "2"
    assert page.locator(".map-label-village").count() == 15
    map_shot(request, page, "directory-map", "town")
    page.close()


@pytest.mark.parametrize(
    ("path", "map_id"),
    [("/desk/map", "case-map"), ("/grids/map", "grid-map")],
    ids=["desk", "grids"],
)
def test_staff_maps_draw_the_same_context(browser, demo_server: str, request, path, map_id) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(demo_server + "/login")
    page.fill("#username", "chief")
    page.fill("#password", "civgrid-demo")
    page.click("button[type=submit]")
    page.goto(demo_server + path)
    data = context(page, map_id)
    assert int(data["contextRoads"]) > 20 and data["contextRivers"] == "2"
    assert page.locator(CONTEXT_PATHS).count() > 40
    assert page.locator(".map-label-village").count() == 15
    map_shot(request, page, map_id, "town")
    page.close()


def test_portal_pin_map_shows_where_the_resident_is(browser, demo_server: str, request) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page.goto(demo_server + "/portal/report")
    page.click("#pin-map")  # no login: the context is public
    data = context(page, "pin-picker")
    assert int(data["contextRoads"]) > 20 and data["contextVillages"] == "15"
    assert page.locator(".map-label-village").count() == 15
    # the whole town on a phone: names that would overlap are left out, none is cut in two
    assert 0 < page.evaluate(SHOWN, ".map-label-village") < 15
    map_shot(request, page, "pin-picker", "phone")
    page.close()
