"""Security headers on every kind of response (issue 18, defect 7), and no page source that the
Content-Security-Policy would refuse: no inline script, handler, style or eval."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civgrid.config import Settings
from civgrid.web.headers import content_security_policy, security_headers, tile_source
from civgrid.web.templating import PACKAGE_DIR

HTML = {"Accept": "text/html"}
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _policy(header: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in header.split(";"))  # type: ignore[misc]


@pytest.fixture
def loose(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client that gets the 500 page instead of the exception."""

    def boom() -> None:
        raise RuntimeError("boom")

    for path in ("/boom", "/api/v1/boom", "/open311/v2/boom.json"):
        app.add_api_route(path, boom)
        app.router.routes.insert(0, app.router.routes.pop())  # before the catch-all 404
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# (what, method, path, headers, expected status)
RESPONSES = [
    ("HTML page", "GET", "/login", HTML, 200),
    ("redirect", "GET", "/", HTML, 303),
    ("JSON API", "GET", "/api/v1/divisions/441900101", {}, 200),
    ("JSON API without login", "GET", "/api/v1/cases", {}, 401),
    ("JSON health", "GET", "/healthz", {}, 200),
    ("Open311", "GET", "/open311/v2/services.json", {}, 200),
    ("Open311 XML", "GET", "/open311/v2/services.xml", {}, 200),
    ("Open311 error", "GET", "/open311/v2/requests/nothing.json", {}, 404),
    ("static file", "GET", "/static/civgrid.css", {}, 200),
    ("Leaflet", "GET", "/static/leaflet/leaflet.js", {}, 200),
    ("missing static file", "GET", "/static/nothing.css", {}, 404),
    ("404 page", "GET", "/no/such/page", HTML, 404),
    ("404 JSON", "GET", "/api/v1/no/such/thing", {}, 404),
    ("405", "DELETE", "/login", {}, 405),
    ("400 from the request guard", "GET", "/portal/categories?q=%00", HTML, 400),
    ("422", "POST", "/api/v1/auth/token", {}, 422),
    ("OpenAPI document", "GET", "/openapi.json", {}, 200),
    ("500 page", "GET", "/boom", HTML, 500),
    ("500 JSON", "GET", "/api/v1/boom", {}, 500),
    ("500 Open311", "GET", "/open311/v2/boom.json", {}, 500),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [r[1:] for r in RESPONSES],
    ids=[r[0] for r in RESPONSES],
)
def test_every_kind_of_response_carries_the_headers(
    loose: TestClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    r = loose.request(method, path, headers=headers, follow_redirects=False)
    assert r.status_code == status, r.text[:300]
    assert _policy(r.headers["Content-Security-Policy"]) == POLICY | {"font-src": "'self'"}
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in r.headers  # not in production
    assert len(r.headers.get_list("Content-Security-Policy")) == 1


def test_the_api_reference_may_load_swagger_ui_and_nothing_inline(loose: TestClient) -> None:
    r = loose.get("/docs")
    assert r.status_code == 200
    policy = _policy(r.headers["Content-Security-Policy"])
    assert policy["script-src"] == policy["style-src"] == "'self' https://cdn.jsdelivr.net"
    assert policy["frame-ancestors"] == "'none'" and r.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in r.text and "style=" not in r.text
    assert '<script src="/static/api_reference.js">' in r.text
    assert loose.get("/static/api_reference.js").status_code == 200
    # ReDoc styles itself inline, which the policy refuses: not served.
    assert loose.get("/redoc", headers=HTML).status_code == 404


@pytest.mark.parametrize(
    ("env", "hsts", "sent"),
    [("production", None, True), ("development", None, False), ("production", False, False)]
    + [("development", True, True), ("test", None, False)],
)
def test_hsts_in_production_or_as_configured(env: str, hsts: bool | None, sent: bool) -> None:
    settings = Settings(env=env, hsts=hsts, secret_key="x" * 40, hsts_max_age=600)
    headers = security_headers(settings)
    assert ("Strict-Transport-Security" in headers) is sent
    if sent:
        assert headers["Strict-Transport-Security"] == "max-age=600"


def test_production_responses_carry_hsts(monkeypatch: pytest.MonkeyPatch, db) -> None:  # type: ignore[no-untyped-def]
    from civgrid.config import get_settings
    from civgrid.db.session import get_db
    from civgrid.web.app import create_app

    monkeypatch.setenv("CIVGRID_ENV", "production")
    monkeypatch.setenv("CIVGRID_SECRET_KEY", "s" * 40)
    get_settings.cache_clear()
    try:
        app = create_app()
        app.dependency_overrides[get_db] = lambda: db
        r = TestClient(app).get("/healthz")
    finally:
        get_settings.cache_clear()
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("tile_url", "source"),
    [
        ("", None),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        (
            "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
            "https://*.is.autonavi.com",
        ),
        ("http://tiles.example.org:8080/{z}/{x}/{y}.png", "http://tiles.example.org:8080"),
    ],
)
def test_a_configured_tile_server_may_serve_images(tile_url: str, source: str | None) -> None:
    assert tile_source(tile_url) == source
    policy = _policy(content_security_policy(Settings(tile_url=tile_url)))
    assert policy["img-src"] == " ".join(filter(None, ["'self' data: blob:", source]))
    assert policy["connect-src"] == "'self'"


# Page sources the policy would refuse (or that need eval). Templates rendered only into PDFs
# (WeasyPrint, never served) may keep their <style>.
PDF_ONLY = {"ledger/book.html", "mediation/agreement_pdf.html", "workforce/appraisal_pdf.html"}
PDF_ONLY |= {"workforce/meeting_pdf.html"}
FORBIDDEN_IN_TEMPLATES = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "inline handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style(?![^>]*>\{\{ inline_css\|safe \}\}</style>)", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "htmx eval": re.compile(r"hx-on|hx-vars|\bjs:|hx-trigger=\"[^\"]*\[", re.I),
}
FORBIDDEN_IN_SCRIPTS = {
    "eval": re.compile(r"\beval\(|new Function|set(Timeout|Interval)\(\s*[\"']"),
    "HTML from strings": re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"),
    "style attribute": re.compile(r"setAttribute\(\s*[\"']style|cssText|style="),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _templates() -> list[Path]:
    return sorted(PACKAGE_DIR.glob("*/templates/**/*.html"))


def test_no_template_holds_what_the_policy_refuses() -> None:
    found = []
    for path in _templates():
        name = "/".join(path.parts[path.parts.index("templates") + 1 :])
        if name in PDF_ONLY:
            continue
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        found += [
            f"{name}: {what}" for what, rx in FORBIDDEN_IN_TEMPLATES.items() if rx.search(text)
        ]
    assert len(_templates()) > 50
    assert not found


def test_no_script_of_ours_needs_eval_or_inline_style() -> None:
    scripts = [p for p in (PACKAGE_DIR / "web" / "static").rglob("*.js") if "vendor" not in p.parts]
    found = [
        f"{p.name}: {what}"
        for p in scripts
        for what, rx in FORBIDDEN_IN_SCRIPTS.items()
        if rx.search(p.read_text(encoding="utf-8"))
    ]
    assert len(scripts) > 10
    assert not found
