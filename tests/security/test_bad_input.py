"""Bad input gets a clear 4xx, never a 500 (issue 18, defects 3 and 9); on /open311 in the
GeoReport error format; an unexpected exception is a logged 500 with a request id."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.models import Case

ANONYMOUS_GETS = [
    "/open311/v2/requests/a%00b.json",
    "/portal/categories?q=%00",
    "/portal/photos/2147483648/thumb",
    "/portal/photos/99999999999999999999999/thumb",
    "/open311/v2/media/9223372036854775808",
    "/open311/v2/requests.json?end_date=0001-01-01T00:00:00Z",
    "/open311/v2/requests.json?start_date=9999-12-31T23:59:59-12:00",
    "/open311/v2/requests.xml?service_code=%FF%FE",
    "/directory?q=%FF",
    # "²" is a digit to str.isdigit, not to int() (found by `make fuzz`)
    "/api/v1/categories/%C2%B2",
    "/open311/v2/requests.json?page=%C2%B2",
    "/open311/v2/requests.json?page_size=%C2%B2",
    "/board?page=%C2%B2",
]


@pytest.fixture
def loose(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client that gets the 500 page instead of the exception."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("url", ANONYMOUS_GETS)
def test_bad_paths_and_queries_are_4xx(loose: TestClient, url: str) -> None:
    r = loose.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:300])
    if url.startswith("/open311/"):
        if ".xml" in url:
            assert r.text.startswith("<?xml") and "<errors>" in r.text
        else:
            (error,) = r.json()
            assert error["code"] == r.status_code and error["description"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases?offset=9223372036854775808",
        "/api/v1/cases?limit=9223372036854775808",
        "/api/v1/users/9223372036854775808",
        "/api/v1/grids/99999999999999999999",
    ],
)
def test_out_of_range_integers_in_the_api(loose: TestClient, bearer, make_user, url: str) -> None:  # type: ignore[no-untyped-def]
    # one request per test: on PostgreSQL a refused statement ends the test's transaction
    r = loose.get(url, headers=bearer(make_user("admin", ("all", ""))))
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:300])
    assert r.json()["detail"]


def test_nul_and_bad_utf8_in_bodies(loose: TestClient, db: Session) -> None:
    cases = db.scalar(select(func.count()).select_from(Case))
    for body in (b"description=a%00b&lon=113.8&lat=23.0", b"description=%FF%FEabc"):
        r = loose.post(
            "/open311/v2/requests.json",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 400, r.text
        (error,) = r.json()
        assert error["code"] == 400
    r = loose.post(
        "/portal/complain",
        content=b"description=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    r = loose.post("/api/v1/auth/token", data={"username": "a\x00b", "password": "x"})
    assert r.status_code == 400
    r = loose.post("/api/v1/cases", json={"description": "x\u0000y", "lon": 1, "lat": 1})
    assert r.status_code == 400
    assert db.scalar(select(func.count()).select_from(Case)) == cases


def bomb_png(side: int = 30000) -> bytes:
    """A few hundred bytes that claim to be a side × side PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_clearly() -> None:
    from civgrid.cases.attachments import check_image
    from civgrid.errors import Invalid

    with pytest.raises(Invalid, match="pixels"):
        check_image(bomb_png())


def test_the_same_scope_twice_is_one_scope(client: TestClient, bearer, make_user) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(make_user("admin", ("all", "")))
    scope = {"kind": "division", "ref": "441900101"}
    body = {
        "username": "twice",
        "password": "long enough",
        "role": "dispatcher",
        "scopes": [scope, scope],
    }
    r = client.post("/api/v1/users", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert len(r.json()["scopes"]) == 1


def test_an_unexpected_error_is_a_logged_500_with_a_request_id(
    app, loose: TestClient, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise RuntimeError("boom")

    for path in ("/boom", "/api/v1/boom", "/open311/v2/boom.xml", "/open311/v2/boom.json"):
        app.add_api_route(path, boom)
        app.router.routes.insert(0, app.router.routes.pop())  # ahead of the catch-all fallback
    html = loose.get("/boom", headers={"Accept": "text/html"})
    rid = html.headers["X-Request-ID"]
    assert (
        html.status_code == 500 and rid in html.text and "text/html" in html.headers["content-type"]
    )
    assert rid in caplog.text and "boom" in caplog.text
    api = loose.get("/api/v1/boom", headers={"Accept": "text/html"})
    assert api.status_code == 500 and api.json()["request_id"] == api.headers["X-Request-ID"]
    xml = loose.get("/open311/v2/boom.xml")
    assert (
        xml.status_code == 500
        and "<errors>" in xml.text
        and xml.headers["X-Request-ID"] in xml.text
    )
    (error,) = loose.get("/open311/v2/boom.json").json()
    assert error["code"] == 500
    missing = loose.get("/open311/v2/nothing-here.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    assert loose.get("/healthz").headers["X-Request-ID"]
