"""Every page, for every demo role, runs under the Content-Security-Policy with no violation, and
the maps and htmx still work under it (issue 18, defect 7).

The pages are those the language crawl finds from each role's start page (tests/web/
test_languages.py: one page of each kind); the map pages are those of the XSS test. A
``securitypolicyviolation`` event, a console message about the policy, an uncaught error or an
htmx error (htmx refuses eval: ``allowEval`` is off) fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DemoSite
from tests.desk.test_browser import login
from tests.security.test_xss_browser import MAP_PAGES
from tests.web.test_languages import ROLES, crawl
from tests.web.test_languages import login as http_login

pytestmark = pytest.mark.browser

WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolation([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber].join(" "));
});
for (const name of ["htmx:evalDisallowedError", "htmx:responseError", "htmx:swapError",
                    "htmx:sendError", "htmx:targetError"]) {
  document.addEventListener(name, (e) => window.cspViolation(name + " " + location.pathname));
}
"""


class Watched:
    """A browser context whose pages report what the policy refused, and what broke."""

    def __init__(self, browser: Any) -> None:
        self.problems: list[str] = []
        self.ctx = browser.new_context(
            viewport={"width": 1400, "height": 900}, locale="zh-CN", bypass_csp=False
        )
        self.ctx.expose_function("cspViolation", lambda text: self.problems.append(text))
        self.ctx.add_init_script(WATCH)
        self.page = self.ctx.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))

    def _console(self, msg: Any) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Refused to" in text or "htmx" in text.lower():
            self.problems.append(f"console {msg.type}: {text} ({self.page.url})")

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(150)  # htmx's own start (its load event) has run

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # type: ignore[no-untyped-def]
    w = Watched(browser)
    yield w
    w.close()


def _pages_of(site: DemoSite, role: str) -> list[str]:
    with httpx.Client(base_url=site.base, timeout=60) as client:
        start = http_login(client, role) if role else "/portal"
        return [path for path, _ in crawl(client, start, "zh_CN")]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_runs_under_the_policy(demo_site: DemoSite, watched: Watched, role: str) -> None:
    pages = _pages_of(demo_site, role)
    assert len(pages) >= 2
    if role:
        login(watched.page, demo_site.base, role)
    for path in pages:
        watched.goto(demo_site.base + path)
    assert not watched.problems, "\n".join(watched.problems)


@pytest.mark.parametrize(("path", "who"), [*MAP_PAGES, ("/ledger/map", "chief")])
def test_maps_draw_under_the_policy(
    demo_site: DemoSite, watched: Watched, screenshot, path: str, who: str | None
) -> None:  # type: ignore[no-untyped-def]
    if who:
        login(watched.page, demo_site.base, who)
    watched.goto(demo_site.base + path)
    show = watched.page.locator(".map-show")  # the board's map waits for a tap on phones
    if show.count() and show.first.is_visible():
        show.first.click()
    watched.page.wait_for_selector(".leaflet-interactive", timeout=60_000)
    assert watched.page.locator(".leaflet-interactive").count() > 0
    assert watched.page.locator(".leaflet-control-zoom-in").is_visible()
    if path == "/grids/map":
        assert screenshot(watched.page, "grids-map").stat().st_size > 10_000
    assert not watched.problems, "\n".join(watched.problems)


def test_htmx_works_under_the_policy(demo_site: DemoSite, watched: Watched) -> None:
    page, base = watched.page, demo_site.base
    watched.goto(base + "/portal/report")
    page.fill("#category-q", "laji")  # category search by pinyin, over htmx
    page.wait_for_selector("#category-results input[name=category_id]", timeout=30_000)
    assert "垃圾" in page.inner_text("#category-results")

    # What was typed before htmx started is searched once it has (category_search.js): see
    # tests/portal/test_browser.py::test_what_is_typed_before_htmx_starts_is_searched.

    # htmx's request indicator rules come from our stylesheet, not an injected <style>.
    assert page.evaluate("() => document.querySelectorAll('style').length") == 0
    assert page.evaluate("() => htmx.config.allowEval") is False

    # A staff page that swaps a fragment in: the dispatcher's command center board.
    login(page, base, "dispatcher")
    watched.goto(base + "/desk/command")
    before = page.inner_html("#board")
    with page.expect_response(lambda r: "/desk/command/fragment" in r.url) as answer:
        # what "every 60s" does, without waiting a minute
        page.evaluate("() => htmx.ajax('GET', '/desk/command/fragment', '#board')")
    assert answer.value.status == 200
    page.wait_for_timeout(300)
    assert before and page.inner_text("#board").strip()
    assert not watched.problems, "\n".join(watched.problems)


def test_the_policy_refuses_an_inline_script(demo_site: DemoSite, watched: Watched) -> None:
    """The guard itself: a script injected into a page is refused and reported."""
    watched.goto(demo_site.base + "/portal")
    watched.page.evaluate("""() => {
      const s = document.createElement("script");
      s.textContent = "document.title = 'ran'";
      document.body.appendChild(s);
    }""")
    watched.page.wait_for_timeout(200)
    assert watched.page.title() != "ran"
    assert any("script-src" in p for p in watched.problems), watched.problems
