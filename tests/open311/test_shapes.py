"""Every GeoReport v2 response, in JSON and XML, carries exactly the spec's fields."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.open311.conftest import (
    ATTRIBUTE_FIELDS,
    BASE,
    DEFINITION_FIELDS,
    DISCOVERY_FIELDS,
    ENDPOINT_FIELDS,
    POST_FIELDS,
    REQUEST_FIELDS,
    SERVICE_FIELDS,
    TOKEN_FIELDS,
    VALUE_FIELDS,
    Open311World,
    children,
    xml_of,
)

W3C_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def _reported(o311: Open311World) -> str:
    r = o311.post(service_code="M01001", **{"attribute[cover_condition]": "missing"})
    assert r.status_code == 200, r.text
    sid = str(r.json()[0]["service_request_id"])
    o311.publish(sid)  # registered: public from then on
    return sid


def test_discovery_json_and_xml(o311: Open311World) -> None:
    doc = o311.client.get(f"{BASE}/discovery.json").json()
    assert set(doc) == DISCOVERY_FIELDS
    assert set(doc["endpoints"][0]) == ENDPOINT_FIELDS
    assert doc["endpoints"][0]["url"].endswith("/open311/v2")
    assert set(doc["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    root = xml_of(o311.client.get(f"{BASE}/discovery.xml").content)
    assert root.tag == "discovery" and children(root) == DISCOVERY_FIELDS
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None and children(endpoint) == ENDPOINT_FIELDS
    assert [f.text for f in endpoint.findall("formats/format")] == ["application/json", "text/xml"]


def test_services_json(o311: Open311World) -> None:
    r = o311.client.get(f"{BASE}/services.json")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    by_code = {s["service_code"]: s for s in r.json()}
    assert all(set(s) == SERVICE_FIELDS for s in by_code.values())
    cover = by_code["M01001"]
    assert cover["metadata"] is True and cover["type"] == "realtime"
    assert cover["group"] == "Municipal utilities"
    assert cover["service_name"] == "Water supply manhole cover defect"
    assert "manhole" in cover["keywords"].split(",")
    assert by_code["GT201"]["metadata"] is False
    assert by_code["GT201"]["group"] == "测试大类"  # no English name: the Chinese one


def test_services_xml(o311: Open311World) -> None:
    r = o311.client.get(f"{BASE}/services.xml")
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert r.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = xml_of(r.content)
    assert root.tag == "services"
    services = {s.findtext("service_code"): s for s in root.findall("service")}
    assert all(children(s) == SERVICE_FIELDS for s in services.values())
    assert services["M01001"].findtext("metadata") == "true"
    assert services["GT201"].findtext("metadata") == "false"


def test_service_definition_json_and_xml(o311: Open311World) -> None:
    doc = o311.client.get(f"{BASE}/services/M01001.json").json()
    assert set(doc) == DEFINITION_FIELDS and doc["service_code"] == "M01001"
    first = doc["attributes"][0]
    assert set(first) == ATTRIBUTE_FIELDS
    assert first["code"] == "cover_condition" and first["required"] is True
    assert first["datatype"] == "singlevaluelist" and first["variable"] is True
    assert all(set(v) == VALUE_FIELDS for v in first["values"])
    assert "missing" in {v["key"] for v in first["values"]}
    root = xml_of(o311.client.get(f"{BASE}/services/M01001.xml").content)
    assert root.tag == "service_definition" and children(root) == DEFINITION_FIELDS
    attrs = root.findall("attributes/attribute")
    assert len(attrs) == 2 and all(children(a) == ATTRIBUTE_FIELDS for a in attrs)
    assert all(children(v) == VALUE_FIELDS for v in attrs[0].findall("values/value"))
    assert attrs[0].findtext("required") == "true"
    plain = o311.client.get(f"{BASE}/services/GT201.json").json()
    assert plain == {"service_code": "GT201", "attributes": []}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_and_token_shapes(o311: Open311World, fmt: str) -> None:
    r = o311.post(fmt)
    assert r.status_code == 200, r.text
    if fmt == "json":
        (doc,) = r.json()
        assert set(doc) == POST_FIELDS and isinstance(doc["service_request_id"], str)
        sid, token = doc["service_request_id"], doc["token"]
    else:
        root = xml_of(r.content)
        assert root.tag == "service_requests"
        (req,) = root.findall("request")
        assert children(req) == POST_FIELDS
        sid = req.findtext("service_request_id") or ""
        token = req.findtext("token") or ""
    from civgrid.open311.models import RequestToken

    assert o311.db.query(RequestToken).one().token == token
    r = o311.client.get(f"{BASE}/tokens/{token}.{fmt}")
    assert r.status_code == 200
    if fmt == "json":
        assert r.json() == [{"service_request_id": sid, "token": token}]
    else:
        req = xml_of(r.content).find("request")
        assert req is not None and children(req) == TOKEN_FIELDS
        assert req.findtext("service_request_id") == sid and req.findtext("token") == token


def test_request_json(o311: Open311World) -> None:
    sid = _reported(o311)
    for path in (f"requests/{sid}.json", "requests.json"):
        docs = o311.client.get(f"{BASE}/{path}").json()
        (doc,) = docs
        assert set(doc) == REQUEST_FIELDS
        assert doc["service_request_id"] == sid and doc["status"] == "open"
        assert doc["service_code"] == "M01001" and doc["lat"] == o311.lat
        for key in ("requested_datetime", "updated_datetime"):
            assert W3C_WITH_OFFSET.match(doc[key]), doc[key]
            assert doc[key].endswith("+08:00")  # the deployment's zone, Asia/Shanghai
            assert datetime.fromisoformat(doc[key]).utcoffset() is not None


def test_request_xml(o311: Open311World) -> None:
    sid = _reported(o311)
    root = xml_of(o311.client.get(f"{BASE}/requests/{sid}.xml").content)
    assert root.tag == "service_requests"
    (req,) = root.findall("request")
    assert children(req) == REQUEST_FIELDS
    assert req.findtext("service_request_id") == sid
    assert req.findtext("status") == "open"
    assert W3C_WITH_OFFSET.match(req.findtext("requested_datetime") or "")
    listed = xml_of(o311.client.get(f"{BASE}/requests.xml").content)
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [sid]
