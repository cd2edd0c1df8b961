"""A first real-browser check: the demo server, a login at phone size, a screenshot."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_demo_login_at_phone_size(browser, demo_server: str, screenshot) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(demo_server + "/login")
    page.fill("#username", "dispatcher")
    page.fill("#password", "civgrid-demo")
    page.click("button[type=submit]")
    page.wait_for_url(demo_server + "/desk/command")  # the dispatcher lands on its desk
    assert "派遣员 李娜" in page.content()
    assert screenshot(page, "home").stat().st_size > 1000
    page.close()
