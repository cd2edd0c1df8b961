"""App basics over real HTTP: health, docs, settings."""

from __future__ import annotations

import httpx
import pytest

from civgrid.config import DEFAULT_SECRET, Settings


def test_healthz_over_http(live_server: str) -> None:
    r = httpx.get(live_server + "/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_openapi_docs_served(live_server: str) -> None:
    assert httpx.get(live_server + "/docs").status_code == 200
    spec = httpx.get(live_server + "/openapi.json").json()
    assert "/api/v1/divisions/{code}" in spec["paths"]
    assert "/api/v1/auth/token" in spec["paths"]


def test_login_page_in_both_languages(live_server: str) -> None:
    zh = httpx.get(live_server + "/login")
    assert zh.status_code == 200
    assert "登录" in zh.text
    en = httpx.get(live_server + "/login?lang=en")
    assert "Log in" in en.text
    assert en.cookies.get("lang") == "en"


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValueError, match="CIVGRID_SECRET_KEY"):
        Settings(env="production", secret_key=DEFAULT_SECRET)
    with pytest.raises(ValueError, match="at least 32"):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key="x" * 40).env == "production"


def test_database_url_selects_postgresql() -> None:
    s = Settings(database_url="postgresql://u@db/civgrid")
    assert s.effective_database_url == "postgresql://u@db/civgrid"
    assert (
        Settings(database_url="", data_dir="/srv/x").effective_database_url
        == "sqlite:////srv/x/civgrid.sqlite3"
    )


def test_unknown_page_is_404_json(live_server: str) -> None:
    assert httpx.get(live_server + "/api/v1/divisions/12345678").status_code == 404
