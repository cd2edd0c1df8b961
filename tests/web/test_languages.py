"""Every page, in both languages, says nothing in the other one outside user content.

The demo site is crawled from each role's start page (links to other pages of the same kind,
say a second case page, are visited once), in zh-CN and in English. What a page shows of people's
data (names, addresses, descriptions, grid and village names) is marked ``translate="no"``, the
HTML attribute for text that is not to be translated, and is left out; so are scripts, form
values and the language switch. A Chinese page must hold no English word, an English page no
Chinese character.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import DemoSite
from tests.desk.test_browser import PASSWORD

# Words that are the same in both languages: product and format names, units.
SHARED_WORDS = frozenset(
    """civgrid English GeoJSON GeoPackage Shapefile Leaflet OpenStreetMap Open311 WGS84 GCJ-02
    JPEG WebP HEIC Polsby Popper Excel xlsx""".split()
)
ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{3,}\b")
CHINESE = re.compile(r"[\u3400-\u9fff]+")
SKIP = re.compile(
    r"/(logout|static|api|open311|docs|openapi)|\.(geojson|csv|xlsx|pdf|png|jpg)$|/photos/"
)
ROLES = ["", "dispatcher", "handler", "leader", "worker", "supervisor", "admin"]
MAX_PAGES = 30  # per role; a page kind (digits masked) is visited once


class _VisibleText(HTMLParser):
    """Text a reader sees and the labels a screen reader reads, minus user content."""

    # titles name records; code is code
    HIDDEN = {"script", "style", "textarea", "template", "title", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is its content excluded?
        self.texts: list[str] = []
        self.links: list[str] = []

    @classmethod
    def of(cls, html: str) -> _VisibleText:
        parser = cls()
        parser.feed(html)
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        excluded = bool(self.stack and self.stack[-1])
        excluded = excluded or tag in self.HIDDEN or a.get("translate") == "no"
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if not excluded:
            for name in ("placeholder", "aria-label", "title"):
                if a.get(name):
                    self.texts.append(str(a[name]))
        if tag not in self.VOID:
            self.stack.append(excluded)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]) and data.strip():
            self.texts.append(data.strip())


def _other_language(texts: list[str], locale: str) -> list[str]:
    found = []
    for text in texts:
        if locale == "zh_CN":
            words = [w for w in ENGLISH_WORD.findall(text) if w not in SHARED_WORDS]
        else:
            words = CHINESE.findall(text)
        if words:
            found.append(text[:80])
    return found


def login(client: httpx.Client, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": username, "password": PASSWORD},
    )
    assert r.status_code == 303, r.text[:300]
    return str(r.headers["location"])


def crawl(client: httpx.Client, start: str, locale: str) -> Iterator[tuple[str, httpx.Response]]:
    """Each page kind reached from ``start`` (a logged-in client's), with its HTML answer.

    Also used by the Content-Security-Policy browser test (tests/security/test_csp_browser.py).
    """
    seen_kinds: set[str] = set()
    queue = deque([start])
    visited = 0
    here = urlsplit(str(client.base_url)).netloc
    while queue and visited < MAX_PAGES:
        path = queue.popleft()
        kind = re.sub(r"\d+", "N", path.split("?")[0])
        if kind in seen_kinds or SKIP.search(path):
            continue
        seen_kinds.add(kind)
        r = client.get(
            path, params={"lang": locale}, headers={"accept": "text/html"}, follow_redirects=True
        )
        visited += 1
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        yield path, r
        for href in _VisibleText.of(r.text).links:
            url = urlsplit(urljoin(str(r.url), href))
            if url.netloc == here and url.path:
                queue.append(url.path)
    assert visited >= 2


def _crawl(client: httpx.Client, start: str, locale: str) -> dict[str, list[str]]:
    """Each page kind reached from ``start`` → what it says in the other language."""
    problems: dict[str, list[str]] = {}
    for path, r in crawl(client, start, locale):
        bad = _other_language(_VisibleText.of(r.text).texts, locale)
        if bad:
            problems[path] = bad
    return problems


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_pages_speak_one_language(demo_site: DemoSite, role: str, locale: str) -> None:
    with httpx.Client(base_url=demo_site.base, timeout=30) as client:
        client.cookies.set("lang", locale)  # redirects keep the language too
        start = login(client, role) if role else "/portal"
        problems = _crawl(client, start, locale)
    shown = "\n".join(f"{path}: {text}" for path, texts in problems.items() for text in texts)
    assert not problems, "in the other language:\n" + shown
