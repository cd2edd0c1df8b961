"""In real Chromium on the demo: a home visit from the field app at phone size (390×844), and
the mediation desk through to the agreement PDF."""

from __future__ import annotations

from typing import Any

import pytest

from tests.desk.test_browser import DESKTOP, PHONE, login, same_origin

pytestmark = pytest.mark.browser

NO_INLINE_SCRIPT = "() => Array.from(document.scripts).filter(s => !s.src).length"
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def _page(browser: Any, viewport: dict[str, int]) -> Any:
    return browser.new_context(viewport=viewport, locale="zh-CN").new_page()


def test_a_home_visit_from_the_field_app_at_phone_size(
    browser, demo_server: str, screenshot
) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    page = _page(browser, PHONE)
    login(page, base, "worker")
    page.click("nav a[href='/field/visits']")
    page.wait_for_selector("ul.visits li")
    assert "陈伯（示例）" in page.inner_text("ul.visits")
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "schedule")
    page.click("ul.visits a:has-text('陈伯（示例）')")
    page.wait_for_selector("form.report")
    assert page.evaluate(NO_INLINE_SCRIPT) == 0
    page.select_option("#outcome", "met")
    page.fill("#note", "<b>老人精神很好</b>")
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "visit-form")
    page.click("form.report button[type=submit]")
    page.wait_for_selector("p.notice[role=status]")
    assert "/field/visits?done=" in page.url
    same_origin(page, base)
    # The household's record shows the visit as text (user text never becomes markup).
    page.goto(base + "/care")
    page.click("table a:has-text('陈伯（示例）')")
    page.wait_for_selector("h1")
    assert "<b>老人精神很好</b>" in page.inner_text("main")
    assert page.locator("main b").count() == 0
    screenshot(page, "record")
    # The worker's mediation desk fits the phone too (wide tables scroll inside their card).
    page.click("nav a[href='/mediation']")
    page.wait_for_selector("h1")
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "mediation")
    page.context.close()


def test_the_mediation_desk_to_the_agreement(browser, demo_server: str, screenshot) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    page = _page(browser, DESKTOP)
    login(page, base, "dispatcher")
    page.click("nav a[href='/mediation']")
    page.wait_for_selector("h1")
    body = page.inner_text("main")
    assert "调解成功率" in body and "基层化解率" in body
    for tier in ("网格调解", "村（社区）调委会", "镇（街道）调解中心", "司法途径"):
        assert tier in body
    assert page.evaluate(NO_INLINE_SCRIPT) == 0
    screenshot(page, "desk")
    page.click("tr:has-text('达成协议') a")
    page.wait_for_selector("a[href$='agreement.pdf']")
    screenshot(page, "agreement")
    href = page.locator("a[href$='agreement.pdf']").get_attribute("href")
    pdf = page.context.request.get(base + str(href))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    same_origin(page, base)
    page.context.close()
