"""The division API: a node, its children, its ancestors, search."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_division_with_ancestors_and_children(client: TestClient) -> None:
    r = client.get("/api/v1/divisions/441900101")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "石碣镇"
    assert body["level"] == "township"
    assert [a["code"] for a in body["ancestors"]] == ["44", "4419", "441900"]
    assert len(body["children"]) == 15
    assert body["children"][0]["code"] == "441900101002"


def test_children_and_ancestors_endpoints(client: TestClient) -> None:
    kids = client.get("/api/v1/divisions/4419/children").json()
    assert [k["code"] for k in kids] == ["441900"]
    chain = client.get("/api/v1/divisions/441900101002/ancestors").json()
    assert [c["name"] for c in chain] == ["广东省", "东莞市", "东莞市", "石碣镇"][: len(chain)]
    assert [c["code"] for c in chain] == ["44", "4419", "441900", "441900101"]


def test_search_by_name(client: TestClient) -> None:
    hits = client.get("/api/v1/divisions", params={"q": "唐洪"}).json()
    assert [h["code"] for h in hits] == ["441900101200"]
    towns = client.get("/api/v1/divisions", params={"q": "镇", "level": "township"}).json()
    assert {h["name"] for h in towns} == {"石碣镇", "石龙镇"}
    within = client.get("/api/v1/divisions", params={"q": "社区", "within": "441900102"}).json()
    assert within
    assert all(h["code"].startswith("441900102") for h in within)


def test_bad_queries_are_4xx(client: TestClient) -> None:
    assert client.get("/api/v1/divisions/999999").status_code == 404
    assert client.get("/api/v1/divisions", params={"q": ""}).status_code == 422
    assert client.get("/api/v1/divisions", params={"q": "x", "within": "abc"}).status_code == 422
    assert client.get("/api/v1/divisions", params={"q": "x", "level": "galaxy"}).status_code == 422
