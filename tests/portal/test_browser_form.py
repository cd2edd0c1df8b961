"""In real Chromium at phone size: the report form says at once whether the position is in the
service area (19.14), asks for nearby reports only with a position (19.13), and a refused form
keeps the category, the position, the text and the photos (19.6). The public and desk case pages
after a return, a failed check and a supervisor's check (19.8, 19.9, 19.10)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from shapely.geometry import shape

from tests.cases.conftest import png_bytes
from tests.desk.test_browser import DESKTOP, PHONE, login
from tests.portal.test_browser import _act, _token

pytestmark = pytest.mark.browser

OUTSIDE = {"longitude": 116.39, "latitude": 39.9}  # Beijing: far from the demo township


def _inside(base: str) -> tuple[float, float]:
    grids = httpx.get(base + "/api/v1/grids", headers=_token(base, "worker")).json()
    point = shape(grids["features"][0]["geometry"]).representative_point()
    return point.x, point.y


def test_the_report_form_checks_the_area_at_once_and_keeps_everything_when_refused(
    browser, demo_server: str, screenshot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    lon, lat = _inside(base)
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    nearby: list[str] = []
    failed: list[str] = []
    ctx.on("request", lambda r: nearby.append(r.url) if "/portal/nearby" in r.url else None)
    ctx.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    ctx.grant_permissions(["geolocation"], origin=base)
    ctx.set_geolocation(OUTSIDE)
    page = ctx.new_page()
    page.goto(base + "/portal/report")

    # a category first, no position yet: nearby reports are not asked for
    page.fill("#category-q", "laji")
    page.wait_for_selector("#category-results input[name=category_id]")
    page.check("#category-results input[name=category_id] >> nth=0")
    chosen = page.input_value("#category-results input[name=category_id]:checked")

    # a position outside the area is refused next to the map as soon as it is set
    page.click("#locate-me")
    page.wait_for_selector("#position-area[data-state=outside]")
    assert "不在服务区域内" in page.inner_text("#position-area")
    screenshot(page, "1-outside")
    ctx.set_geolocation({"longitude": lon, "latitude": lat})
    page.click("#locate-me")
    page.wait_for_selector("#position-area[data-state=inside]")
    assert "所在网格" in page.inner_text("#position-area")
    page.wait_for_selector("#nearby", state="attached")  # (wait_for_function needs eval: CSP)
    assert nearby, "nearby reports are asked for once there is a position"
    assert all("lon=&" not in u and not u.endswith("lat=") for u in nearby), nearby

    # a refused form (HTML in the text) keeps the category, the position, the text and the photo
    page.fill("#description", "<b>路灯</b>不亮")
    photo = tmp_path / "lamp.png"
    photo.write_bytes(png_bytes((240, 200, 40)))
    page.set_input_files("#photos", str(photo))
    with page.expect_response(lambda r: r.url.endswith("/portal/report")) as refused:
        page.click("form#report-form button[type=submit].big")
    assert refused.value.status == 422, refused.value.text()
    page.wait_for_selector("p.error[role=alert]")
    assert page.input_value("#category-results input[name=category_id]:checked") == chosen
    assert page.input_value("#description") == "<b>路灯</b>不亮"
    assert page.input_value("#lon") != "" and page.input_value("#lat") != ""
    page.wait_for_selector("#position-area[data-state=inside]")
    assert "位置：" in page.inner_text("#position-status")
    page.wait_for_selector("#pin-picker[data-ready='1'] .leaflet-marker-icon")
    widths = page.eval_on_selector_all(
        "#kept-photos img", "imgs => imgs.map(i => i.complete && i.naturalWidth)"
    )
    assert len(widths) == 1 and widths[0] > 0
    assert page.is_checked("#kept-photos input[name=keep_photo]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    screenshot(page, "2-refused-kept")

    page.fill("#description", "路灯不亮，晚上很黑")
    page.click("form#report-form button[type=submit].big")
    page.wait_for_selector("#receipt-key")
    screenshot(page, "3-received")
    # the refused post (422) and the outside point (404); never /portal/nearby without a position
    expected = [u for u in failed if "/portal/report" in u or "/directory/locate" in u]
    assert sorted(set(failed) - set(expected)) == [], failed
    ctx.close()


def test_the_case_pages_after_a_return_a_rework_and_a_supervisors_check(
    browser, demo_server: str, screenshot
) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    lon, lat = _inside(base)
    categories = httpx.get(base + "/portal/categories", params={"q": "laji"}).text
    category_id = int(categories.split('name="category_id" value="')[1].split('"')[0])
    body = {
        "category_id": category_id,
        "lon": lon,
        "lat": lat,
        "description": "垃圾桶满溢",
        "source": "patrol",
    }
    r = httpx.post(base + "/api/v1/cases", json=body, headers=_token(base, "worker"))
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    _act(base, "dispatcher", number, "register", {})
    _act(base, "dispatcher", number, "dispatch", {"department": "DG-SJ-CG"})
    _act(base, "handler", number, "return", {"reason": "应由环卫部门处理"})
    _act(base, "dispatcher", number, "dispatch", {"department": "DG-SJ-CG"})
    _act(base, "handler", number, "accept", {})
    for colour in ((30, 160, 60), (40, 170, 70)):
        photo = httpx.post(
            f"{base}/api/v1/cases/{number}/attachments",
            headers=_token(base, "handler"),
            files={"file": ("after.png", png_bytes(colour), "image/png")},
            data={"kind": "after"},
        )
        assert photo.status_code == 201, photo.text
        _act(
            base,
            "handler",
            number,
            "handle",
            {"feedback": "已清理", "attachment_ids": [photo.json()["id"]]},
        )
        if colour == (30, 160, 60):
            _act(base, "supervisor", number, "verify", {"passed": False, "note": "仍有垃圾"})
    check = httpx.post(
        f"{base}/api/v1/cases/{number}/attachments",
        headers=_token(base, "supervisor"),
        files={"file": ("check.png", png_bytes((20, 20, 200)), "image/png")},
        data={"kind": "after"},
    )
    assert check.status_code == 201, check.text
    body = {"passed": True, "attachment_ids": [check.json()["id"]]}
    _act(base, "supervisor", number, "verify", body)

    # the resident's view: the stage on a return, who checked, photos by stage
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{base}/portal/cases/{number}")
    timeline = page.inner_text("ol.timeline")
    assert "正在确定责任部门" in timeline and "改派" not in timeline
    assert "应由环卫部门处理" not in timeline
    assert "监督员核查未通过" in timeline and "监督员已现场核查" in timeline
    assert "网格员已现场核查" not in timeline
    labels = page.eval_on_selector_all("ul.photos li", "lis => lis.map(l => l.innerText.trim())")
    assert labels == ["处置后", "处置后", "核查"]
    screenshot(page, "1-portal")
    ctx.close()

    # the desk: the running stage first, earlier runs folded
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    login(page, base, "dispatcher")
    page.goto(f"{base}/desk/cases/{number}")
    panel = page.locator("section.time-limits")
    assert "当前阶段：结案" in panel.locator(".current-limit").inner_text()
    assert not panel.locator("details.clock-history").evaluate("d => d.open")
    assert panel.locator("details.clock-history li").first.is_hidden()
    screenshot(page, "2-desk-folded")
    panel.locator("details.clock-history summary").click()
    history = panel.locator("details.clock-history").inner_text()
    assert "回退" in history and "核查不通过" in history
    photos = page.locator("section[aria-labelledby=h-photos]").inner_text()
    assert "核查" in photos
    screenshot(page, "3-desk-history")
    ctx.close()
