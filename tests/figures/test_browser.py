"""/figures and /figures/wall in real Chromium over the demo (with its year of history)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ARTIFACTS, BACKEND
from tests.desk.test_browser import login

pytestmark = pytest.mark.browser

# Scripts, styles and images (SVG links are in-page drill-downs, checked by clicking).
ASSETS = """() => Array.from(document.querySelectorAll('script[src],link[href],img[src]'))
  .map(e => e.src || e.href)"""


def test_dashboard_drills_down_and_back(browser: Any, demo_site: Any) -> None:
    base = demo_site.base
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, base, "chief")
    page.goto(base + "/figures", timeout=120_000)
    assert page.locator("ul.kpis").first.locator(".kpi").count() == 8
    inspections = page.locator("ul.kpis").nth(1)  # the inspections' strip (检查)
    assert inspections.locator(".kpi").count() == 4
    assert inspections.locator('[data-code="inspection_failure_rate"]').is_visible()
    assert page.locator("svg.chart-choropleth a").count() > 5
    assert page.locator("svg.chart-trend circle").count() >= 10
    assets = page.evaluate(ASSETS)
    assert assets
    assert [u for u in assets if not u.startswith(base + "/")] == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"figures-{BACKEND}.png"), full_page=True)
    page.locator("details summary").first.click()
    assert page.locator("table.figures-table tbody tr").first.is_visible()
    page.locator("svg.chart-choropleth a").first.click()
    page.wait_for_load_state("load")
    assert "unit=village" in page.url
    assert page.locator("svg.chart-choropleth a").count() >= 1  # the village's grids
    page.locator("nav.crumbs a").last.click()
    page.wait_for_load_state("load")
    assert "unit=township" in page.url
    context.close()


def test_wall_fills_the_screen_without_scrolling(browser: Any, demo_site: Any) -> None:
    base = demo_site.base
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    login(page, base, "chief")
    page.goto(base + "/figures/wall", timeout=120_000)
    size = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size == [1920, 1080]
    assert page.locator(".wall-kpis li").count() == 8
    assert page.locator("meta[http-equiv=refresh]").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"figures-wall-{BACKEND}.png"))
    context.close()
