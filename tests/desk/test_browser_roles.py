"""Role landing and navigation in the browser, and the report form by keyboard only."""

from __future__ import annotations

import pytest

from tests.desk.test_browser import PHONE, login, same_origin

pytestmark = pytest.mark.browser


def test_leader_lands_on_the_leader_view(browser, demo_server: str, screenshot) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    login(page, demo_server, "leader")
    assert page.url == demo_server + "/desk/leader"
    nav = page.inner_text("header nav")
    assert "我的网格" in nav
    assert "指挥中心" not in nav
    assert page.locator("#h-open ~ ul li").count() >= 1  # the demo's open cases in the grids
    same_origin(page, demo_server)
    screenshot(page, "leader")
    ctx.close()


def test_report_form_by_keyboard(browser, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    login(page, demo_server, "worker")
    page.goto(demo_server + "/field/report")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.is_visible("a.skip")
    page.focus("#category-q")
    page.keyboard.type("ljt")  # pinyin initials of 垃圾桶
    page.wait_for_selector("#category-results input[name=category_id]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "category_id"
    page.keyboard.press("Space")
    assert page.is_checked("#category-results input[name=category_id] >> nth=0")
    ctx.close()


def test_case_page_has_a_location_map(browser, demo_site, screenshot) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from civgrid.cases.models import Case

    with demo_site.sessions() as db:
        number = db.scalars(select(Case.number).where(Case.grid_code.is_not(None))).first()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    login(page, demo_site.base, "dispatcher")
    page.goto(f"{demo_site.base}/desk/cases/{number}")
    page.wait_for_selector(".case-map[data-ready='1']")
    assert page.locator(".case-map path").count() >= 2  # the point and the grids around it
    assert "城中社区第" in page.inner_text(".facts")  # the grid by name
    screenshot(page, "case-map")
    ctx.close()
