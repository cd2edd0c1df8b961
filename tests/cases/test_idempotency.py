"""Idempotency keys on intake: a retried report (API or Open311) returns the first answer.

In the request's session (the rolled-back harness, as on SQLite), and as served: on
PostgreSQL the API then writes on the asynchronous pool (``civgrid.db.aio``). Two requests
with the same key at the same moment make one case.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.demo import demo_points, demo_report_target
from civgrid.cases.models import Case
from civgrid.catalogue.models import Category
from civgrid.open311.actions import issue_client
from tests.conftest import DemoSite

SAME_MOMENT = 6  # requests sent at once with one key


def _cases(db: Session, description: str) -> int:
    return (
        db.scalar(select(func.count()).select_from(Case).where(Case.description == description))
        or 0
    )


def _body(world: Any, description: str) -> dict[str, Any]:
    return {
        "category_id": world.category.id,
        "lon": world.lon,
        "lat": world.lat,
        "description": description,
        "source": "patrol",
    }


def test_a_retried_api_report_gets_the_first_answer(
    client: TestClient, bearer: Any, world: Any, db: Session, make_user: Any
) -> None:
    worker = bearer(world.worker)
    body = _body(world, "retried once")
    first = client.post("/api/v1/cases", json=body, headers={**worker, "Idempotency-Key": "k-1"})
    again = client.post("/api/v1/cases", json=body, headers={**worker, "Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert _cases(db, "retried once") == 1
    other = client.post("/api/v1/cases", json=body, headers={**worker, "Idempotency-Key": "k-2"})
    assert other.json()["number"] != first.json()["number"]
    # keys belong to their client: another user's "k-1" is a report of its own
    colleague = make_user("grid_worker", ("division", world.village), username="colleague")
    theirs = client.post(
        "/api/v1/cases", json=body, headers={**bearer(colleague), "Idempotency-Key": "k-1"}
    )
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["number"] not in (first.json()["number"], other.json()["number"])
    assert _cases(db, "retried once") == 3


def test_no_key_no_memory_and_a_bad_key_is_refused(
    client: TestClient, bearer: Any, world: Any, db: Session
) -> None:
    worker = bearer(world.worker)
    body = _body(world, "twice without a key")
    for _ in range(2):
        assert client.post("/api/v1/cases", json=body, headers=worker).status_code == 201
    assert _cases(db, "twice without a key") == 2
    for bad in ("x" * 201, " padded ", "tab\there"):
        r = client.post("/api/v1/cases", json=body, headers={**worker, "Idempotency-Key": bad})
        assert r.status_code in (400, 422), (bad, r.text)
    assert _cases(db, "twice without a key") == 2


def _at_once(send: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(SAME_MOMENT)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        r = send()
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=run) for _ in range(SAME_MOMENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


def test_the_same_key_at_the_same_moment_makes_one_case(demo_site: DemoSite) -> None:
    base = demo_site.base
    with demo_site.sessions() as db:
        category_id, _lon, _lat = demo_report_target(db)
        lon, lat = demo_points(db, 3)[2]
        code = db.get(Category, category_id).code  # type: ignore[union-attr]
        _client, api_key = issue_client(db, name=f"same moment {uuid.uuid4()}", actor=None)
    token = httpx.post(
        base + "/api/v1/auth/token", data={"username": "dispatcher", "password": "civgrid-demo"}
    ).json()["access_token"]
    api_text, o311_text, key = (
        f"at once {uuid.uuid4()}",
        f"at once {uuid.uuid4()}",
        str(uuid.uuid4()),
    )
    body = {"source": "hotline", "category_id": category_id, "lon": lon, "lat": lat}
    api = _at_once(
        lambda: httpx.post(
            base + "/api/v1/cases",
            json={**body, "description": api_text},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=30,
        )
    )
    form = {"api_key": api_key, "service_code": code, "lat": str(lat), "long": str(lon)}
    o311 = _at_once(
        lambda: httpx.post(
            base + "/open311/v2/requests.json",
            data={**form, "description": o311_text, "idempotency_key": key},
            timeout=30,
        )
    )
    assert sorted(r.status_code for r in api) == [201] * SAME_MOMENT
    assert len({r.content for r in api}) == 1
    assert sorted(r.status_code for r in o311) == [200] * SAME_MOMENT
    assert len({r.content for r in o311}) == 1
    with demo_site.sessions() as db:
        assert (_cases(db, api_text), _cases(db, o311_text)) == (1, 1)
