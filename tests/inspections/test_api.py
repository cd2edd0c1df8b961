"""The inspection API: records from the field app (idempotent), admins editing checklists."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.inspections.models import ChecklistItem
from tests.inspections.conftest import Site


def payload(site: Site, results: list[str], key: str = "draft-0001") -> dict[str, Any]:
    return {
        "client_key": key,
        "template_id": site.template.id,
        "kind": "units",
        "target_id": site.unit.id,
        "results": [
            {"item_id": i.id, "result": r, "note": "坏了" if r == "fail" else ""}
            for i, r in zip(site.template.items, results, strict=True)
        ],
    }


def test_a_record_posted_twice_is_stored_once(client: TestClient, site: Site, bearer: Any) -> None:
    headers = bearer(site.world.worker)
    body = payload(site, ["pass", "fail", "na"])
    first = client.post("/api/v1/inspections/records", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["failed"] == 1 and len(first.json()["cases"]) == 1
    again = client.post("/api/v1/inspections/records", json=body, headers=headers)
    assert again.json() == first.json()
    assert client.post("/api/v1/inspections/records", json=body).status_code == 401
    outsider = client.post(
        "/api/v1/inspections/records",
        json=payload(site, ["pass"] * 3, "draft-0002"),
        headers=bearer(site.world.outsider),
    )
    assert outsider.status_code == 404
    missing = payload(site, ["pass"] * 3, "draft-0003")
    missing["results"] = missing["results"][:2]
    assert (
        client.post("/api/v1/inspections/records", json=missing, headers=headers).status_code == 422
    )
    counts = client.get(
        f"/api/v1/inspections/counts?territory={site.world.grid_code}", headers=headers
    )
    assert counts.json()[site.world.grid_code]["failure_rate"] == 1.0


def test_admins_edit_checklist_items(
    db: Session, client: TestClient, site: Site, bearer: Any
) -> None:
    item = site.template.items[0]
    url = f"/api/v1/inspections/items/{item.id}"
    edit = {"version": 1, "pass_rule_zh": "每50㎡不少于2具"}
    assert client.patch(url, json=edit, headers=bearer(site.world.worker)).status_code == 403
    r = client.patch(url, json=edit, headers=bearer(site.world.admin))
    assert r.status_code == 200 and r.json()["version"] == 2
    assert client.patch(url, json=edit, headers=bearer(site.world.admin)).status_code == 409
    bad = client.patch(
        url, json={"version": 2, "category_code": "NOPE"}, headers=bearer(site.world.admin)
    )
    assert bad.status_code == 422
    assert (
        db.scalar(select(ChecklistItem.pass_rule_zh).where(ChecklistItem.id == item.id))
        == "每50㎡不少于2具"
    )
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "inspection.item_edited"))
    listed = client.get("/api/v1/inspections/templates", headers=bearer(site.world.worker)).json()
    assert listed[0]["items"][0]["pass_rule_zh"] == "每50㎡不少于2具"
