"""A grid name carrying HTML stays text on every map page (defect 1 of issue 18)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from civgrid.grids.models import Grid

pytestmark = pytest.mark.browser

CODE = "44190010100201"
PAYLOAD = "<img src=x onerror=\"document.title='XSS'\">"
# Every page with a map that names grids, and the user who sees it (None: anonymous).
MAP_PAGES = [
    ("/directory", None),
    (f"/directory/grids/{CODE}", None),
    ("/board", None),
    ("/desk/map", "chief"),
    ("/grids/map", "chief"),
]
# Hover and click every drawn shape: tooltips and popups open.
OPEN_ALL = """() => {
  for (const p of document.querySelectorAll('.leaflet-interactive')) {
    for (const t of ['mouseover', 'click']) p.dispatchEvent(new MouseEvent(t, {bubbles: true}));
  }
}"""


@pytest.fixture
def hostile_grid(demo_site) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with demo_site.sessions() as db:
        grid = db.scalar(select(Grid).where(Grid.code == CODE))
        old, grid.name = grid.name, PAYLOAD
        db.commit()
        yield PAYLOAD
        grid.name = old
        db.commit()


@pytest.mark.parametrize(("path", "who"), MAP_PAGES)
def test_a_grid_name_is_shown_as_text_on_every_map(
    browser, demo_site, hostile_grid, path, who
) -> None:  # type: ignore[no-untyped-def]
    base = demo_site.base
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    if who:
        page.goto(base + "/login")
        page.fill("#username", who)
        page.fill("#password", "civgrid-demo")
        page.click("button[type=submit]")
    page.goto(base + path)
    page.wait_for_selector(".leaflet-interactive", timeout=60_000)
    page.wait_for_timeout(500)
    page.evaluate(OPEN_ALL)
    page.wait_for_timeout(500)  # an <img src=x> would have failed to load and run by now
    assert page.title() != "XSS"
    assert page.locator(".leaflet-tooltip img, .leaflet-popup img, .map-label img").count() == 0
    page.close()
