"""Every bad POST answers the spec's error list in the format asked for, and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from civgrid.config import get_settings
from civgrid.open311 import actions
from civgrid.open311.models import ApiClient
from tests.open311.conftest import ERROR_FIELDS, Open311World, children, png_bytes, xml_of

COVER = {"service_code": "M01001", "attribute[cover_condition]": "missing"}

BAD: dict[str, tuple[dict[str, Any], str]] = {
    "unknown service_code": ({"service_code": "M99999"}, "not a known service"),
    "missing service_code": ({"service_code": None}, "service_code is required"),
    "staff complaint is not offered": ({"service_code": "G17001"}, "not a known service"),
    "no location": ({"lat": None, "long": None}, "location"),
    "address only": ({"lat": None, "long": None, "address_string": "1 Main St"}, "geocoded"),
    "outside the service area": ({"lat": "39.9", "long": "116.4"}, "outside the service area"),
    "lat not a number": ({"lat": "north"}, "decimal degrees"),
    "required attribute missing": ({"service_code": "M01001"}, "attribute[cover_condition]"),
    "attribute value not listed": ({**COVER, "attribute[cover_condition]": "x"}, "one of"),
    "two values for a single list": (
        {**COVER, "attribute[cover_condition][]": "cracked"},
        "one value",
    ),
    "description too long": ({"description": "x" * 4001}, "at most 4000"),
    "description with HTML": ({"description": "<b>look</b> here"}, "plain text"),
    "description with an entity": ({"description": "fish &amp; chips"}, "plain text"),
    "no description": ({"description": None}, "description is required"),
    "media_url is not fetched": ({"media_url": "http://example.com/a.jpg"}, "media_url"),
    "e-mail not valid": ({"email": "not-an-address"}, "e-mail"),
    "phone not valid": ({"phone": "call me"}, "phone"),
    "HTML address": ({"address_string": "<script>x</script>"}, "plain text"),
}


def _error(r: Any, fmt: str) -> tuple[int, str]:
    """(code, description) of the single error, checking the spec's shape on the way."""
    if fmt == "json":
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        (err,) = r.json()
        assert set(err) == ERROR_FIELDS
        return int(err["code"]), str(err["description"])
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    root = xml_of(r.content)
    assert root.tag == "errors"
    (err,) = root.findall("error")
    assert children(err) == ERROR_FIELDS
    return int(err.findtext("code") or 0), err.findtext("description") or ""


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_400_and_nothing_is_stored(o311: Open311World, name: str, fmt: str) -> None:
    fields, message = BAD[name]
    before = o311.stored()
    r = o311.post(fmt, **fields)
    assert r.status_code == 400, r.text
    code, description = _error(r, fmt)
    assert code == 400 and message in description
    assert o311.stored() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_photo_that_is_not_an_image(o311: Open311World, fmt: str) -> None:
    before = o311.stored()
    r = o311.post(fmt, files={"media": ("a.jpg", b"GIF89a not really", "image/jpeg")})
    assert r.status_code == 400
    assert "not a readable" in _error(r, fmt)[1]
    assert o311.stored() == before


def test_oversized_photo(o311: Open311World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 200)
    before = o311.stored()
    r = o311.post("xml", files={"media": ("a.png", png_bytes((400, 400)), "image/png")})
    assert r.status_code == 400
    assert "the limit is 0.00019 MB" in _error(r, "xml")[1]
    assert o311.stored() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_missing_or_wrong_key_is_403(o311: Open311World, fmt: str, key: str | None) -> None:
    before = o311.stored()
    r = o311.post(fmt, api_key=key)
    assert r.status_code == 403
    assert _error(r, fmt)[0] == 403
    assert o311.stored() == before


def test_revoked_key_is_403(o311: Open311World) -> None:
    client = o311.db.query(ApiClient).one()
    actions.revoke_client(o311.db, client, actor=None)
    r = o311.post()
    assert r.status_code == 403 and _error(r, "json")[1] == "api_key is not valid"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_ids_are_404_in_the_spec_format(o311: Open311World, fmt: str) -> None:
    for path in ("requests/441900101-20260101-00001", "tokens/nope", "services/M99999"):
        r = o311.client.get(f"/open311/v2/{path}.{fmt}")
        assert r.status_code == 404
        assert _error(r, fmt)[0] == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_query_arguments_are_400_not_the_app_default(o311: Open311World, fmt: str) -> None:
    for query in ("status=pending", "start_date=yesterday", "page=0", "page_size=x"):
        r = o311.client.get(f"/open311/v2/requests.{fmt}?{query}")
        assert r.status_code == 400, query
        assert _error(r, fmt)[0] == 400
        assert "detail" not in r.text  # not the app's generic JSON error


def _raw_form(o311: Open311World, description: bytes) -> bytes:
    fields = f"api_key={o311.api_key}&service_code={o311.plain.code}&lat={o311.lat}&long={o311.lon}"
    return fields.encode() + b"&description=" + description


def test_raw_utf8_in_a_form_body_is_read_as_utf8(o311: Open311World) -> None:
    """curl -d and many hotline systems send Chinese unescaped: no mojibake is stored."""
    from civgrid.cases.models import Case

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = _raw_form(o311, "路口暴露垃圾+三天".encode())
    r = o311.client.post("/open311/v2/requests.json", content=body, headers=headers)
    assert r.status_code == 200, r.text
    number = r.json()[0]["service_request_id"]
    case = o311.db.query(Case).filter(Case.number == number).one()
    assert case.description == "路口暴露垃圾 三天"


def test_a_form_body_that_is_not_utf8_is_refused(o311: Open311World) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    before = o311.stored()
    body = _raw_form(o311, "路口垃圾".encode("gbk"))
    r = o311.client.post("/open311/v2/requests.xml", content=body, headers=headers)
    assert r.status_code == 400
    assert "not UTF-8" in _error(r, "xml")[1]
    assert o311.stored() == before
