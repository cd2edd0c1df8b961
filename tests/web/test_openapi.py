"""The OpenAPI document tells the truth: the errors each operation answers with and their shape,
405 with the methods that exist, strict booleans."""

from __future__ import annotations

from typing import Any

import jsonschema_rs  # schemathesis validates with it
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.catalogue.actions import LoadResult, load_catalogue
from civgrid.web.app import create_app

API_ERRORS = {"400", "401", "403", "404", "409", "422"}


@pytest.fixture
def catalogue(db: Session) -> LoadResult:
    return load_catalogue(db)


def _document() -> dict[str, Any]:
    return create_app().openapi()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def _validate(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    """``body`` against the schema ``doc`` documents for that answer."""
    media = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    jsonschema_rs.validate({**media["schema"], "components": doc["components"]}, body)


def test_every_api_operation_documents_its_errors() -> None:
    doc = _document()
    api = [(m, p, op) for m, p, op in _operations(doc) if p.startswith("/api/v1/")]
    assert len(api) > 100
    for method, path, op in api:
        assert API_ERRORS <= set(op["responses"]), (method, path, sorted(op["responses"]))
        for status in API_ERRORS:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    token = doc["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "Retry-After" in token["429"]["headers"]
    assert "WWW-Authenticate" in token["401"]["headers"]


def test_georeport_operations_document_the_georeport_error_list() -> None:
    doc = _document()
    georeport = [(m, p, op) for m, p, op in _operations(doc) if p.startswith("/open311/v2/")]
    assert len(georeport) >= 8
    for method, path, op in georeport:
        responses = op["responses"]
        assert {"400", "403", "404", "4XX"} <= set(responses), (method, path)
        assert "422" not in responses, (method, path)  # GeoReport answers a bad argument with 400
        schema = responses["404"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/RootModel_list_GeoReportError__"}


def test_errors_match_their_documented_schema(
    client: TestClient, make_user, bearer, catalogue
) -> None:  # type: ignore[no-untyped-def]
    doc = _document()
    admin = bearer(make_user("admin", ("all", "")))
    # a domain 422, whose values (here the category's ``code``) travel beside the error's code
    body = {"code": "X99001", "name_zh": "古井", "major_name_zh": "文化遗产"}
    r = client.post("/api/v1/categories", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], str) and r.json()["code"] == "invalid"
    _validate(doc, "/api/v1/categories", "post", 422, r.json())
    # a request that does not match its schema
    r = client.post("/api/v1/categories", json={"code": 5}, headers=admin)
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)
    _validate(doc, "/api/v1/categories", "post", 422, r.json())
    # 401, 403, 404, 409
    r = client.get("/api/v1/users")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    _validate(doc, "/api/v1/users", "get", 401, r.json())
    worker = bearer(make_user("grid_worker", ("division", "441900101002")))
    r = client.get("/api/v1/users", headers=worker)
    assert r.status_code == 403
    _validate(doc, "/api/v1/users", "get", 403, r.json())
    r = client.get("/api/v1/categories/Z99999", headers=admin)
    assert r.status_code == 404
    _validate(doc, "/api/v1/categories/{code}", "get", 404, r.json())
    existing = client.get("/api/v1/categories", headers=admin).json()[0]["code"]
    r = client.post("/api/v1/categories", json={**body, "code": existing}, headers=admin)
    assert r.status_code in (409, 422), r.text
    _validate(doc, "/api/v1/categories", "post", r.status_code, r.json())


def test_a_boolean_is_a_boolean(client: TestClient, make_user, bearer, catalogue) -> None:  # type: ignore[no-untyped-def]
    admin = bearer(make_user("admin", ("all", "")))
    code = client.get("/api/v1/categories", headers=admin).json()[0]["code"]
    url = f"/api/v1/categories/{code}"
    for not_a_boolean in (0, 1, "true", "0", "yes"):
        r = client.patch(url, json={"is_active": not_a_boolean}, headers=admin)
        assert r.status_code == 422, (not_a_boolean, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "is_active"]
    assert client.get(url, headers=admin).json()["is_active"] is True
    r = client.patch(url, json={"is_active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    schema = _document()["components"]["schemas"]["CategoryPatch"]["properties"]["is_active"]
    assert {"type": "boolean"} in schema["anyOf"]


def test_a_wrong_method_answers_405_with_the_methods_of_the_path(client: TestClient) -> None:
    for method, path, allow in [
        ("DELETE", "/api/v1/cases", "GET, POST"),  # two routes on one path: both methods
        ("PUT", "/api/v1/users/1", "GET, PATCH"),
        ("GET", "/api/v1/cases/C1/register", "POST"),  # GET reaches the fallback
        ("GET", "/api/v1/auth/token", "POST"),
        ("DELETE", "/login", "GET, POST"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 405, (method, path, r.status_code)
        assert r.headers["Allow"] == allow, (method, path)
    r = client.patch("/open311/v2/requests.json")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"
    assert r.json() == [{"code": 405, "description": "Method Not Allowed"}]
    r = client.get("/login/nowhere", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "Allow" not in r.headers
    r = client.delete("/nowhere")
    assert r.status_code == 404 and "Allow" not in r.headers
