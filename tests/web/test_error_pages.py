"""403 and 404 for logged-in people: a localized page with their menu for browsers, JSON for API
clients; an unknown address answers a browser with the same page."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import DemoSite
from tests.desk.test_browser import DESKTOP, login

pytestmark = pytest.mark.browser


def _case_outside(site: DemoSite, village: str) -> str:
    """A new case reported in a grid outside ``village`` (the demo's cases are all inside)."""
    from civgrid.cases.actions import report_case
    from civgrid.cases.models import CaseSource
    from civgrid.catalogue.models import Category
    from civgrid.grids.geo import from_text
    from civgrid.grids.models import Grid

    with site.sessions() as db:
        grid = db.scalars(select(Grid).where(Grid.village_code != village).limit(1)).one()
        point = from_text(grid.geometry).representative_point()
        category = db.scalars(select(Category).where(Category.code == "M03001")).one()
        reported = report_case(
            db,
            source=CaseSource.PORTAL,
            category=category,
            lon=point.x,
            lat=point.y,
            description="outside the worker's area",
        )
        return reported.case.number


def test_error_pages_for_staff(browser, demo_site: DemoSite, screenshot) -> None:  # type: ignore[no-untyped-def]
    base = demo_site.base
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()

    login(page, base, "sanitation")
    answer = page.goto(base + "/desk/command")
    assert answer is not None and answer.status == 403
    assert page.inner_text("h1") == "您无权访问此页面"
    assert "我的待办" in page.inner_text("header nav")  # the handler's own menu
    assert "dispatcher" not in page.inner_text("main")  # no raw role names
    screenshot(page, "403-zh")

    answer = page.goto(base + "/no/such/page")
    assert answer is not None and answer.status == 404
    assert page.inner_text("h1") == "页面不存在"
    assert "我的待办" in page.inner_text("header nav")
    ctx.clear_cookies()

    login(page, base, "worker")
    answer = page.goto(base + "/desk/cases/" + _case_outside(demo_site, "441900101002"))
    assert answer is not None and answer.status == 404
    assert page.inner_text("h1") == "页面不存在"
    assert "外勤" in page.inner_text("header nav")
    screenshot(page, "404-worker-zh")
    ctx.clear_cookies()

    login(page, base, "dispatcher")
    answer = page.goto(base + "/desk/cases/SJ0000000000?lang=en")
    assert answer is not None and answer.status == 404
    assert page.inner_text("h1") == "This page does not exist"
    assert "Command center" in page.inner_text("header nav")
    screenshot(page, "404-dispatcher-en")
    ctx.close()


def test_error_pages_for_visitors_and_api_clients(demo_site: DemoSite) -> None:
    browser_headers = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "zh-CN"}
    r = httpx.get(demo_site.base + "/no/such/page", headers=browser_headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text
    assert "我要报事" in r.text  # the visitor's menu

    r = httpx.get(demo_site.base + "/no/such/page")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"

    r = httpx.get(demo_site.base + "/api/v1/cases/SJ0000000000", headers=browser_headers)
    assert r.status_code == 401  # the API answers JSON, to browsers as well
    assert r.headers["content-type"].startswith("application/json")

    r = httpx.get(demo_site.base + "/static/no-such-file.css", headers=browser_headers)
    assert r.status_code == 404
    assert "页面不存在" in r.text
