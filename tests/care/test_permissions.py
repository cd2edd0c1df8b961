"""The authorization matrix over every care resource: anonymous, wrong role, right role in the
wrong jurisdiction, right role in the right one, the unassigned worker; and reads are logged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from civgrid.care import actions
from civgrid.care.models import VisitOutcome
from civgrid.care.service import local_today
from tests.care.conftest import NAME, Care

URLS = [
    "/care/{id}",
    "/field/visits/{id}",
    "/care/{id}/documents/{doc}",
]


@pytest.mark.parametrize("url", URLS)
def test_care_matrix(client: TestClient, bearer, care: Care, url: str) -> None:  # type: ignore[no-untyped-def]
    e = care.enrol()
    doc = actions.attach_consent_copy(
        care.db, e.id, actor=care.worker, filename="c.pdf", content=b"%PDF-1.4 x"
    )
    url = url.format(id=e.id, doc=doc.id)

    def status(user) -> int:  # type: ignore[no-untyped-def]
        return client.get(url, headers=bearer(user)).status_code

    assert client.get(url).status_code == 401
    assert status(care.dispatcher) == 403
    assert status(care.outside_leader) == 404
    assert status(care.other_worker) == 404
    assert status(care.leader) == 200
    assert status(care.worker) == 200
    if url.startswith("/field/"):
        assert status(care.civil_affairs) == 403  # departments do not visit
    else:
        assert status(care.civil_affairs) == 200
        assert status(care.other_dept) == 404


def test_the_programme_list_shows_only_my_households_and_logs_the_read(
    client: TestClient, bearer, care: Care
) -> None:  # type: ignore[no-untyped-def]
    care.enrol()
    assert client.get("/care").status_code == 401
    assert client.get("/care", headers=bearer(care.dispatcher)).status_code == 403
    assert NAME not in client.get("/care", headers=bearer(care.other_worker)).text
    assert NAME not in client.get("/care", headers=bearer(care.outside_leader)).text
    page = client.get("/field/visits", headers=bearer(care.worker))
    assert NAME in page.text
    reads = care.db.execute(
        text("SELECT count(*) FROM audit_events WHERE action = 'personal_data.read'")
    ).scalar()
    assert reads == 1


def test_withdraw_by_the_unassigned_worker_is_404_and_changes_nothing(
    client: TestClient, bearer, care: Care
) -> None:  # type: ignore[no-untyped-def]
    e = care.enrol()
    r = client.post(f"/care/{e.id}/withdraw", headers=bearer(care.other_worker))
    assert r.status_code == 404
    r = client.post(f"/care/{e.id}/withdraw", headers=bearer(care.worker), follow_redirects=False)
    assert r.status_code == 303
    again = client.post(f"/care/{e.id}/withdraw", headers=bearer(care.worker))
    assert again.status_code == 409


def test_enrol_and_visit_through_the_forms(client: TestClient, bearer, care: Care) -> None:  # type: ignore[no-untyped-def]
    h = bearer(care.worker)
    form = {
        "group": "elderly_alone",
        "grid": care.grid_code,
        "name": "李阿婆",
        "address": "测试路1号",
        "consenter": "person",
        "given_on": "2026-01-02",
        "data_kept": "姓名、住址",
        "services": "探访",
        "who_may_see": "网格员",
    }
    refused = client.post("/care/new", data=form, headers=h)
    assert refused.status_code == 422
    assert "consent" in refused.text or "同意" in refused.text
    done = client.post(
        "/care/new", data={**form, "consent_given": "1"}, headers=h, follow_redirects=False
    )
    assert done.status_code == 303
    eid = int(done.headers["location"].split("/")[2].split("?")[0])
    bad = client.post(f"/field/visits/{eid}", data={"visited_on": "x", "outcome": "met"}, headers=h)
    assert bad.status_code == 422
    ok = client.post(
        f"/field/visits/{eid}",
        data={"visited_on": local_today().isoformat(), "outcome": VisitOutcome.MET.value},
        headers=h,
        follow_redirects=False,
    )
    assert ok.status_code == 303
