"""The authorization matrix over every mediation resource, and the desk's forms."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civgrid.care.service import local_today
from civgrid.mediation import actions
from civgrid.mediation.transitions import SessionOutcome
from tests.mediation.conftest import ID_CARD, Med

URLS = ["/mediation/{id}", "/mediation/{id}/agreement.pdf", "/mediation/{id}/signed"]


@pytest.mark.parametrize("url", URLS)
def test_mediation_matrix(client: TestClient, bearer, med: Med, url: str) -> None:  # type: ignore[no-untyped-def]
    d = med.create()
    actions.hold_session(
        med.db,
        d.id,
        actor=med.worker,
        held_on=local_today(),
        place="调解室",
        outcome=SessionOutcome.AGREEMENT,
        terms="赔偿800元",
    )
    actions.attach_signed_agreement(
        med.db, d.id, actor=med.worker, filename="s.pdf", content=b"%PDF-1 x"
    )
    url = url.format(id=d.id)

    def status(user) -> int:  # type: ignore[no-untyped-def]
        return client.get(url, headers=bearer(user)).status_code

    assert client.get(url).status_code == 401
    assert status(med.handler) == 403
    assert status(med.outside_leader) == 404
    assert status(med.outside_dispatcher) == 404
    assert status(med.other_worker) == 404
    assert status(med.worker) == 200
    assert status(med.leader) == 200
    assert status(med.dispatcher) == 200


def test_the_desk_masks_id_numbers_beyond_the_mediator(
    client: TestClient, bearer, med: Med
) -> None:  # type: ignore[no-untyped-def]
    d = med.create()
    assert ID_CARD in client.get(f"/mediation/{d.id}", headers=bearer(med.worker)).text
    leader_view = client.get(f"/mediation/{d.id}", headers=bearer(med.leader)).text
    assert ID_CARD not in leader_view
    assert "440101************" in leader_view
    desk = client.get("/mediation", headers=bearer(med.dispatcher))
    assert desk.status_code == 200
    assert d.number in desk.text
    assert client.get("/mediation", headers=bearer(med.handler)).status_code == 403


def test_desk_forms_register_escalate_and_refuse_the_wrong_tier(
    client: TestClient, bearer, med: Med
) -> None:  # type: ignore[no-untyped-def]
    h = bearer(med.worker)
    form = {
        "territory": med.grid_code,
        "kind": "neighbour",
        "summary": "噪音扰民",
        "party1_name": "王五",
    }
    r = client.post("/mediation/new", data=form, headers=h, follow_redirects=False)
    assert r.status_code == 303
    did = int(r.headers["location"].rsplit("/", 1)[1])
    r = client.post(f"/mediation/{did}/refer", data={"to": "court", "reason": "x"}, headers=h)
    assert r.status_code == 409
    r = client.post(f"/mediation/{did}/escalate", data={"reason": ""}, headers=h)
    assert r.status_code == 422
    r = client.post(
        f"/mediation/{did}/escalate",
        data={"reason": "双方分歧大", "mediator": med.leader.username},
        headers=h,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(f"/mediation/{did}", headers=h).status_code == 404  # no longer mine
    empty = client.post("/mediation/new", data={**form, "party1_name": ""}, headers=h)
    assert empty.status_code == 422
