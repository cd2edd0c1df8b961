"""The demo map in a real browser: the township's grids drawn, a card on click, problems listed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_demo_map_shows_grids_card_and_problems(browser, demo_server: str, screenshot) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.goto(demo_server + "/login?next=/grids/map")
    page.fill("#username", "chief")
    page.fill("#password", "civgrid-demo")
    page.click("button[type=submit]")
    page.goto(demo_server + "/grids/map")
    # grids, village outlines and the two overlay layers end up in the layer control
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-control-layers-overlays label').length === 4",
        timeout=60_000,
    )
    assert page.locator(".grid-code-label").count() > 90
    page.locator("path.leaflet-interactive").nth(5).click(force=True)
    page.wait_for_selector("#grid-card dd", timeout=20_000)
    card = page.inner_text("#grid-card")
    assert "4419001010" in card and "网格长 黄伟" in card
    ledger = page.locator("#grid-card a[data-href=ledger_page]")
    assert (ledger.get_attribute("href") or "").startswith("/ledger/grids/4419001010")
    assert ledger.inner_text() == "本网格台账与网格台账册"
    # the demo's grids come from the automatic division: every check passes
    page.wait_for_function(
        "document.querySelector('#grid-problems').innerText.includes('未发现问题')"
    )
    assert screenshot(page, "map").stat().st_size > 10_000
    page.close()
