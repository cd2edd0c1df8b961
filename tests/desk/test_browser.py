"""The whole loop in real Chromium, across roles: report → register, dispatch → handle →
verify → close; once at desktop size and once at phone size (390×844)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from shapely.geometry import shape

from tests.cases.conftest import png_bytes
from tests.conftest import ARTIFACTS, BACKEND

pytestmark = pytest.mark.browser

PASSWORD = "civgrid-demo"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Every src/href on the page, resolved: all must be same-origin.
ASSET_URLS = """() => Array.from(document.querySelectorAll('[src],[href]'))
  .map(e => e.src || e.href).filter(u => u && !u.startsWith('javascript:'))"""


def login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_load_state("load")


def list_item(page: Any, base: str, number: str, lists: tuple[str, ...]) -> Any:
    """The case's item on the command center, or, when its list shows more cases than its
    preview, on that list's own pages ("show all", then "Next"), as a dispatcher finds it."""
    item = f".case-item:has(a[href='/desk/cases/{number}'])"
    page.goto(base + "/desk/command")
    if page.locator(item).count():
        return page.locator(item)
    for name in lists:
        page.goto(f"{base}/desk/lists/{name}")
        while not page.locator(item).count() and page.locator("a[rel=next]").count():
            page.click("a[rel=next]")
        if page.locator(item).count():
            return page.locator(item)
    raise AssertionError(f"{number} is in none of {lists}")


def same_origin(page: Any, base: str) -> None:
    urls = page.evaluate(ASSET_URLS)
    assert urls
    # tel: links (call 119/120/110 first) are not fetched; every fetched URL is ours
    outside = [u for u in urls if not u.startswith((base + "/", "tel:"))]
    assert outside == [], outside


def photo_file(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(png_bytes())
    return str(path)


def grid_point(context: Any, base: str) -> tuple[float, float]:
    """A point inside the logged-in worker's first grid (from the app's own GeoJSON)."""
    grids = context.request.get(base + "/api/v1/grids").json()
    point = shape(grids["features"][0]["geometry"]).representative_point()
    return point.x, point.y


def new_context(browser: Any, viewport: dict[str, int], requests: list[str]) -> Any:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.on("request", lambda r: requests.append(r.url))
    return context


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_whole_loop(browser, demo_server: str, screenshot, tmp_path: Path, viewport) -> None:  # type: ignore[no-untyped-def]
    base = demo_server
    size = "phone" if viewport == PHONE else "desktop"
    requests: list[str] = []

    # 1. The grid worker reports: category by pinyin, position from the phone, a photo.
    ctx = new_context(browser, viewport, requests)
    page = ctx.new_page()
    login(page, base, "worker")
    assert page.url == base + "/field"
    lon, lat = grid_point(ctx, base)
    ctx.grant_permissions(["geolocation"], origin=base)
    ctx.set_geolocation({"longitude": lon, "latitude": lat})
    page.click("a[href='/field/report'].button")
    page.fill("#category-q", "xiaoguanggao")
    page.wait_for_selector("#category-results input[name=category_id]")
    page.check("#category-results input[name=category_id] >> nth=0")
    page.fill("#description", f"电线杆上贴满非法小广告（{size}）")
    page.click("#pin-map")  # the map pin picker loads Leaflet only now
    page.wait_for_selector("#pin-picker[data-ready='1']")
    page.click("#locate-me")
    page.wait_for_function("document.getElementById('lon').value !== ''")
    page.set_input_files("#photos", photo_file(tmp_path, "before.png"))
    same_origin(page, base)
    screenshot(page, f"{size}-1-report")
    page.click("form.report button[type=submit]")
    page.wait_for_url(re.compile(r".*/field\?reported="))
    number = page.url.split("reported=")[1]
    assert number in page.inner_text("main")
    ctx.close()

    # 2. The dispatcher registers and dispatches (the routing suggestion is preselected).
    ctx = new_context(browser, viewport, requests)
    page = ctx.new_page()
    login(page, base, "dispatcher")
    assert page.url == base + "/desk/command"
    assert page.inner_text("h1") == "指挥中心"
    same_origin(page, base)
    screenshot(page, f"{size}-2-command")
    page.goto(base + "/desk/map")  # open cases coloured by deadline light, over the grids
    page.wait_for_selector("#case-map[data-loaded]")
    assert int(page.get_attribute("#case-map", "data-loaded") or 0) >= 1
    assert page.locator("#case-map path.leaflet-interactive").count() > 1
    same_origin(page, base)
    screenshot(page, f"{size}-2-map")
    list_item(page, base, number, ("incoming",)).locator(f"a:text('{number}')").click()
    page.click("form.a-register button")
    page.wait_for_selector("form.a-dispatch")
    assert page.input_value("#department") == "DG-SJ-CG"
    assert "★" in page.inner_text("#department option:checked")
    page.fill("#dispatch-note", "请今日处理")
    screenshot(page, f"{size}-2-dispatch")
    page.click("form.a-dispatch button[type=submit]")
    page.wait_for_selector("text=已派遣")
    ctx.close()

    # 3. The department handler accepts and handles, with an after-photo.
    ctx = new_context(browser, viewport, requests)
    page = ctx.new_page()
    login(page, base, "handler")
    assert page.url == base + "/desk/queue"
    page.click(f"a:text('{number}')")
    page.click("form.a-accept button")
    page.wait_for_selector("form.a-handle")
    page.fill("#feedback", "已清除全部小广告")
    page.set_input_files("#handle-photos", photo_file(tmp_path, "after.png"))
    page.click("form.a-handle button[type=submit]")
    page.wait_for_selector("text=已处置")
    screenshot(page, f"{size}-3-handled")
    ctx.close()

    # 4. The grid worker verifies on site: passed, with a photo.
    ctx = new_context(browser, viewport, requests)
    page = ctx.new_page()
    login(page, base, "worker")
    page.click(f"#h-verify ~ ul a:text('{number}')")
    page.check("input[name=result][value=pass]")
    page.set_input_files("#verify-photos", photo_file(tmp_path, "verify.png"))
    page.click("form.a-verify button[type=submit]")
    page.wait_for_selector("text=已核查")
    ctx.close()

    # 5. The duty chief closes it with the public outcome.
    ctx = new_context(browser, viewport, requests)
    page = ctx.new_page()
    login(page, base, "chief")
    list_item(page, base, number, ("to_close",)).locator(f"a:text('{number}')").click()
    page.fill("#outcome", "小广告已清除，现场恢复整洁。")
    page.click("form.a-close button[type=submit]")
    page.wait_for_selector(".case-title .state:text('已结案')")
    timeline = page.inner_text("ol.timeline")
    for step in ("上报", "立案", "派遣", "接收", "处置反馈", "核查通过", "结案"):
        assert step in timeline
    thumbs = page.eval_on_selector_all("ul.photos img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(thumbs) == 3
    assert all(w > 0 for w in thumbs)
    same_origin(page, base)
    screenshot(page, f"{size}-5-closed")
    page.goto(page.url.split("?")[0] + "?lang=en")  # the language switch
    assert "Closed" in page.inner_text(".case-title")
    ctx.close()

    assert [u for u in requests if not u.startswith(base + "/")] == []


def test_field_app_first_load_is_small(browser, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    """HTML + CSS + JS + fonts of the field app's pages on an empty cache: under 100 KB."""
    base = demo_server
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    login_page = ctx.request.get(base + "/login").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    assert token is not None
    ctx.request.post(
        base + "/login",
        form={"username": "worker", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    sizes: dict[str, int] = {}

    def record(response: Any) -> None:
        if response.status < 300:
            sizes[response.url] = len(response.body())

    page = ctx.new_page()
    page.on("response", record)
    totals = {}
    for path in ("/field/report", "/field"):
        sizes.clear()
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        totals[path] = sum(sizes.values())
        assert not any("leaflet" in u for u in sizes), "Leaflet must load only on demand"
    page.goto(base + "/field/report")
    page.click("#pin-map")
    page.wait_for_selector("#pin-picker[data-ready='1']")
    ctx.close()
    folder = ARTIFACTS / BACKEND
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "field-first-load.json").write_text(json.dumps({"bytes": totals}, indent=1))
    assert max(totals.values()) < 100_000, totals


def test_demo_server_serves_no_external_urls(demo_server: str) -> None:
    """The login page as served: no http(s):// to another host in src/href."""
    html = httpx.get(demo_server + "/login").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs
    assert [r for r in refs if "//" in r] == []
