"""Taking a phone report on the desk in real Chromium: a refused submit keeps the form, then
the position from the ledger's address search, and the case arrives with the hotline source."""

from __future__ import annotations

import pytest

from tests.desk.test_browser import list_item

pytestmark = pytest.mark.browser

PASSWORD = "civgrid-demo"


def test_a_dispatcher_takes_a_phone_report(browser, demo_server: str, screenshot) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", "dispatcher")
    page.fill("#password", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(base + "/desk/command")
    page.click("nav a[href='/desk/intake']")
    page.wait_for_selector("#intake-map[data-ready='1']", timeout=30_000)
    assert page.is_checked("input[name=source][value=hotline]")

    page.fill("#caller_name", "王女士")
    page.fill("#phone", "13800138000")
    page.fill("#category-q", "laji")
    page.wait_for_selector("#category-results input[name=category_id]", timeout=30_000)
    page.check("#category-results input[name=category_id] >> nth=0")
    chosen = page.get_attribute("#category-results input[name=category_id]:checked", "value")
    page.fill("#description", "来电反映：巷口垃圾三天没人清运")

    # No position yet: refused in Chinese, with everything entered still there.
    page.click("button[type=submit].big")
    page.wait_for_selector("p.error[role=alert]")
    assert "请设定位置" in page.inner_text("p.error[role=alert]")
    assert page.input_value("#caller_name") == "王女士"
    assert page.input_value("#description") == "来电反映：巷口垃圾三天没人清运"
    page.wait_for_selector(f"#category-results input[value='{chosen}']:checked", timeout=30_000)
    screenshot(page, "refused")

    # A click on the map sets a position; an address from the ledger then replaces it.
    page.wait_for_selector("#intake-map[data-ready='1']", timeout=30_000)
    page.click("#intake-map", position={"x": 300, "y": 150})
    assert page.input_value("#lon") != ""
    page.fill("#address-q", "巷")
    page.wait_for_selector("#address-results .address-choice", timeout=30_000)
    first = page.locator("#address-results .address-choice").first
    lon = first.get_attribute("data-lon")
    text = first.get_attribute("data-text")
    first.click()
    assert page.input_value("#address") == text
    assert abs(float(page.input_value("#lon")) - float(lon or "0")) < 1e-5
    assert "已选地址" in page.inner_text("#position-status")
    shot = screenshot(page, "form")
    assert shot.stat().st_size > 10_000

    page.click("button[type=submit].big")
    page.wait_for_url(lambda url: "/desk/cases/" in url and "done=report" in url)
    body = page.inner_text("main")
    assert "已完成：上报" in body and "12345热线" in body and "王女士" not in body
    number = page.url.split("/desk/cases/")[1].split("?")[0]
    screenshot(page, "case")

    item = list_item(page, base, number, ("incoming", "to_dispatch"))
    assert "12345热线" in item.inner_text()
    context.close()
