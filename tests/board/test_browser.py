"""The public board in real Chromium at phone size (390×844) and desktop: list, map, a filter."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


def open_map(page: Any, phone: bool) -> int:
    """Show the map (a tap on phones; wide screens load it at once); the number of case dots."""
    if phone:
        page.click("#board-map-show")
    page.wait_for_selector("#board-map[data-loaded]")
    assert page.get_attribute("#board-map", "data-error") is None
    assert page.locator("#board-map path.leaflet-interactive").count() > 0  # grid outlines
    return int(page.get_attribute("#board-map", "data-loaded") or 0)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_board_with_map_and_a_filter(browser, demo_server: str, screenshot, viewport) -> None:  # type: ignore[no-untyped-def]
    base, phone = demo_server, viewport == PHONE
    requests: list[str] = []
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(base + "/board")
    assert page.locator("h1").inner_text() == "办理公示"
    listed = page.locator("li.public-case").count()
    assert listed > 0
    assert ("/static/leaflet/leaflet.js" in " ".join(requests)) is not phone  # lazy on phones
    dots = open_map(page, phone)
    assert dots >= listed  # the map shows every case the filter finds (a year of history)
    assert page.evaluate(NO_OVERFLOW)
    screenshot(page, "board")

    if phone:
        page.click("details.board-filters summary")
    page.select_option("#f-status", "closed")
    page.click("#board-filter-form button[type=submit]")
    page.wait_for_url("**/board?status=closed")
    closed = page.locator("li.public-case").count()
    assert 0 < closed <= listed  # a page of each
    assert page.locator("li.public-case .pub-closed").count() == closed
    assert open_map(page, phone) >= closed
    assert page.evaluate(NO_OVERFLOW)
    thumbs = page.locator("li.public-case img")
    assert thumbs.count() > 0
    assert all(
        (thumbs.nth(i).get_attribute("src") or "").startswith("/portal/photos/")
        for i in range(thumbs.count())
    )
    screenshot(page, "board-closed")
    page.goto(base + "/board?status=closed&lang=en")
    assert page.locator("h1").inner_text() == "Public board"
    outside = [u for u in requests if not u.startswith(base + "/")]
    assert outside == []  # nothing from the internet: no tiles, no fonts, no CDN
    context.close()
