"""In real Chromium at phone size: a resident reports on the portal (category by pinyin, the
phone's position, a photo, a phone number), staff take the case through to closure, and the
resident is told and rates it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from shapely.geometry import shape

from tests.cases.conftest import png_bytes
from tests.desk.test_browser import ASSET_URLS, PASSWORD, PHONE

pytestmark = pytest.mark.browser
# 暴露垃圾 (M06010), picked by its code among the results for "laji".
EXPOSED_RUBBISH = "#category-results label.choice:has(small:text('M06010')) input[name=category_id]"


def _token(base: str, username: str) -> dict[str, str]:
    r = httpx.post(base + "/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _act(base: str, who: str, number: str, action: str, body: dict[str, Any]) -> None:
    r = httpx.post(f"{base}/api/v1/cases/{number}/{action}", json=body, headers=_token(base, who))
    assert r.status_code == 200, r.text


def _staff_close(base: str, number: str) -> None:
    """Dispatcher, department, grid worker and duty chief take the registered case to closure."""
    _act(base, "dispatcher", number, "dispatch", {"department": "DG-SJ-CG"})
    _act(base, "handler", number, "accept", {})
    photo = httpx.post(
        f"{base}/api/v1/cases/{number}/attachments",
        headers=_token(base, "handler"),
        files={"file": ("after.png", png_bytes((30, 160, 60)), "image/png")},
        data={"kind": "after"},
    )
    assert photo.status_code == 201, photo.text
    body = {"feedback": "已清理", "attachment_ids": [photo.json()["id"]]}
    _act(base, "handler", number, "handle", body)
    _act(base, "worker", number, "verify", {"passed": True})
    _act(base, "chief", number, "close", {"outcome": "垃圾已清运，现场恢复整洁。"})


def _point_in_workers_grid(base: str) -> tuple[float, float]:
    grids = httpx.get(base + "/api/v1/grids", headers=_token(base, "worker")).json()
    point = shape(grids["features"][0]["geometry"]).representative_point()
    return point.x, point.y


def test_a_resident_reports_staff_close_and_the_resident_rates(
    browser, demo_server: str, screenshot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    lon, lat = _point_in_workers_grid(base)
    requests: list[str] = []
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    ctx.on("request", lambda r: requests.append(r.url))
    ctx.grant_permissions(["geolocation"], origin=base)
    ctx.set_geolocation({"longitude": lon, "latitude": lat})
    page = ctx.new_page()

    page.goto(base + "/")
    assert page.url == base + "/portal"
    screenshot(page, "1-portal")
    page.click("a.button.big[href='/portal/report']")
    page.fill("#category-q", "laji")
    page.wait_for_selector("#category-results input[name=category_id]")
    page.check(EXPOSED_RUBBISH)  # the category meant, not whichever comes first
    page.click("#locate-me")
    expect(page.locator("#lon")).not_to_have_value("")  # (wait_for_function needs eval: CSP)
    page.fill("#description", "小区门口垃圾堆了三天，有异味。")
    photo = tmp_path / "before.png"
    photo.write_bytes(png_bytes())
    page.set_input_files("#photos", str(photo))
    page.fill("#phone", "13812345678")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the phone
    screenshot(page, "2-report-form")
    page.click("form#report-form button[type=submit].big")
    page.wait_for_selector("#receipt-key, p.error[role=alert]")
    assert not page.query_selector("p.error[role=alert]"), page.inner_text("p.error")  # not refused
    number = page.inner_text("#receipt-number")
    code = page.inner_text("#receipt-key")
    assert len(code.replace("-", "")) == 10
    screenshot(page, "3-receipt")

    # Once registered (a raw report is not public), a neighbour starting the same report is
    # offered the open one nearby, and joins it.
    _act(base, "dispatcher", number, "register", {})
    neighbour = browser.new_context(viewport=PHONE, locale="zh-CN")
    neighbour.grant_permissions(["geolocation"], origin=base)
    neighbour.set_geolocation({"longitude": lon, "latitude": lat})
    p3 = neighbour.new_page()
    p3.goto(base + "/portal/report")
    p3.fill("#category-q", "laji")
    p3.wait_for_selector("#category-results input[name=category_id]")
    p3.check(EXPOSED_RUBBISH)
    p3.click("#locate-me")
    p3.wait_for_selector(f"#nearby a:text('{number}')")
    screenshot(p3, "2b-nearby")
    p3.fill("#description", "我家楼下也是")
    p3.click("#nearby button:text('我也遇到这个问题')")
    p3.wait_for_selector("text=部门已知道您也遇到同样的问题")
    assert "又一位居民反映同一问题" in p3.inner_text("ol.timeline")
    neighbour.close()

    _staff_close(base, number)

    page.goto(base + "/portal")
    assert "已办结：请评价办理情况" in page.inner_text("main")
    page.click(f"a:text('{number}')")
    assert "您反映的问题已办结" in page.inner_text("main")
    assert "垃圾已清运" in page.inner_text("main")
    photos = page.locator("ul.photos img")
    expect(photos).to_have_count(2)
    for i in range(2):  # lazy thumbnails: on screen, then loaded, before they are measured
        photos.nth(i).scroll_into_view_if_needed()
        expect(photos.nth(i)).to_have_js_property("complete", True)
    thumbs = page.eval_on_selector_all("ul.photos img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(thumbs) == 2 and all(w > 0 for w in thumbs)  # before and after, EXIF-free
    assert "13812345678" not in page.content()
    screenshot(page, "4-closed")
    page.check("input[name=rating][value='5']")
    page.fill("#comment", "处理很快，谢谢！")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("text=谢谢，已保存")
    assert "★★★★★" in page.inner_text(".facts")
    assert "已评价" in page.inner_text(".case-title")
    screenshot(page, "5-rated")

    # Another device: the number and the code open the same report.
    other = browser.new_context(viewport=PHONE, locale="zh-CN")
    p2 = other.new_page()
    p2.goto(base + "/portal/track")
    p2.fill("#number", number)
    p2.fill("#code", code.lower())
    p2.click("form button[type=submit].big")
    p2.wait_for_selector(".case-title")
    assert number in p2.inner_text(".case-title")
    other.close()

    urls = page.evaluate(ASSET_URLS)
    assert [u for u in urls + requests if not u.startswith(base + "/")] == []
    ctx.close()


def test_what_is_typed_before_htmx_starts_is_searched(browser, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    """Under load the form can be typed into before htmx has started; the search still runs."""
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    held: list = []  # type: ignore[type-arg]
    page.route("**/static/vendor/htmx.min.js", lambda route: held.append(route))  # held back
    page.goto(demo_server + "/portal/report", wait_until="commit")
    page.wait_for_selector("#category-q")
    page.fill("#category-q", "laji")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    page.wait_for_selector("#category-results input[name=category_id]")
    assert page.locator("#category-results input[name=category_id]").count() >= 1
    ctx.close()
