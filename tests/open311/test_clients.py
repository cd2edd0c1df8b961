"""Issuing API keys: admins only (API), or an operator on the server (CLI); keys stored hashed."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.open311.models import ApiClient
from tests.open311.conftest import BASE, VILLAGE

URL = "/api/v1/open311/clients"


def test_anonymous_is_401(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"name": "x"}).status_code == 401
    assert client.post(f"{URL}/1/revoke").status_code == 401


@pytest.mark.parametrize(
    ("role", "scope"),
    [("dispatcher", ("division", "441900101")), ("grid_worker", ("division", VILLAGE))],
)
def test_wrong_role_is_403(client: TestClient, make_user, bearer, role, scope) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(make_user(role, scope))
    assert client.get(URL, headers=headers).status_code == 403
    assert client.post(URL, json={"name": "x"}, headers=headers).status_code == 403
    assert client.post(f"{URL}/1/revoke", headers=headers).status_code == 403


def test_admin_issues_lists_and_revokes(
    client: TestClient,
    db: Session,
    make_user,  # type: ignore[no-untyped-def]
    bearer,  # type: ignore[no-untyped-def]
) -> None:
    headers = bearer(make_user("admin", ("all", "")))
    r = client.post(URL, json={"name": "WeChat mini program"}, headers=headers)
    assert r.status_code == 201, r.text
    issued = r.json()
    key = issued["api_key"]
    assert len(key) >= 40 and issued["key_hint"] == key[:6]
    stored = db.scalars(select(ApiClient)).one()
    assert stored.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    listed = client.get(URL, headers=headers).json()
    assert [c["name"] for c in listed] == ["WeChat mini program"]
    assert "api_key" not in listed[0] and key not in client.get(URL, headers=headers).text
    again = client.post(URL, json={"name": "WeChat mini program"}, headers=headers)
    assert again.status_code == 409
    # The key works on the Open311 endpoint until it is revoked.
    form = {"api_key": key, "service_code": "NOPE"}
    assert client.post(f"{BASE}/requests.json", data=form).status_code == 400
    r = client.post(f"{URL}/{issued['id']}/revoke", headers=headers)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert client.post(f"{BASE}/requests.json", data=form).status_code == 403


def test_cli_add_client_prints_the_key_once(tmp_path: Path) -> None:
    env = {**os.environ, "CIVGRID_DATA_DIR": str(tmp_path)}
    env["CIVGRID_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    cli = [sys.executable, "-m", "civgrid.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("db", "upgrade").returncode == 0
    r = run("open311", "add-client", "Hotline bridge")
    assert r.returncode == 0, r.stdout + r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        (digest,) = conn.execute("SELECT key_sha256 FROM open311_clients").fetchone()
    assert digest == hashlib.sha256(key.encode()).hexdigest()
    listed = run("open311", "clients")
    assert "Hotline bridge" in listed.stdout and key not in listed.stdout
    again = run("open311", "add-client", "Hotline bridge")
    assert again.returncode == 1 and "already exists" in again.stdout
    assert run("open311", "revoke-client", "1").returncode == 0
