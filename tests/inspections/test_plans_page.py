"""The inspection plans page: who may use it (the matrix), and creating, editing and retiring
plans through the audited actions, with bad input refused and nothing stored."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.inspections import actions
from civgrid.inspections.models import InspectionPlan
from tests.inspections.conftest import Site


@pytest.fixture
def plan(db: Session, site: Site) -> InspectionPlan:
    return actions.add_plan(
        db,
        template=site.template,
        territory_code=site.world.grid_code,
        every_days=30,
        starts_on=date(2026, 1, 1),
        actor=None,
    )


def test_plans_matrix(
    client: TestClient, site: Site, plan: InspectionPlan, bearer: Any, make_user: Any
) -> None:
    w = site.world
    leader = make_user("grid_leader", ("grid", w.grid_code))
    far_leader = make_user("grid_leader", ("division", "441900102"))
    edit = {"every_days": "14", "starts_on": "2026-02-01", "selector": ""}

    def get(user: Any) -> int:
        return client.get("/inspections/plans", headers=bearer(user)).status_code

    def post(user: Any) -> int:
        url = f"/inspections/plans/{plan.id}"
        return client.post(url, data=edit, headers=bearer(user), follow_redirects=False).status_code

    assert client.get("/inspections/plans").status_code == 401
    assert get(w.worker) == 403 and post(w.worker) == 403
    assert get(w.handler) == 403 and post(w.handler) == 403
    assert get(far_leader) == 200 and post(far_leader) == 404
    far = client.get("/inspections/plans", headers=bearer(far_leader)).text
    assert f"/inspections/plans/{plan.id}" not in far
    assert get(leader) == 200 and post(leader) == 303
    assert get(w.admin) == 200 and post(w.admin) == 303


def test_create_edit_and_retire_a_plan_on_the_page(
    db: Session, client: TestClient, site: Site, plan: InspectionPlan, bearer: Any
) -> None:
    h = bearer(site.world.admin)
    page = client.get("/inspections/plans", headers=h | {"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "消防检查" in page.text
    new = {
        "template": str(site.template.id),
        "territory": site.world.grid_code,
        "every_days": "90",
        "starts_on": "2026-03-01",
        "selector": "餐饮店",
    }
    r = client.post("/inspections/plans", data=new, headers=h, follow_redirects=False)
    assert r.status_code == 303
    added = db.scalar(select(InspectionPlan).where(InspectionPlan.every_days == 90))
    assert added is not None and added.selector == "餐饮店"
    for bad in ({"every_days": "0"}, {"starts_on": "2026-02-30"}, {"territory": "abc"}):
        r = client.post("/inspections/plans", data=new | bad, headers=h)
        assert r.status_code == 422, bad
        assert 'role="alert"' in r.text
    assert db.scalar(select(func.count(InspectionPlan.id))) == 2
    edit = {"every_days": "7", "starts_on": "2026-04-01", "selector": ""}
    r = client.post(f"/inspections/plans/{plan.id}", data=edit, headers=h, follow_redirects=False)
    assert r.status_code == 303
    db.refresh(plan)
    assert (plan.every_days, plan.starts_on) == (7, date(2026, 4, 1))
    r = client.post(
        f"/inspections/plans/{plan.id}", data={"retire": "1"}, headers=h, follow_redirects=False
    )
    assert r.status_code == 303
    db.refresh(plan)
    assert plan.is_active is False
    again = client.post(f"/inspections/plans/{plan.id}", data=edit, headers=h)
    assert again.status_code == 409
    done = set(
        db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("inspection.plan%")))
    )
    assert done == {"inspection.plan_added", "inspection.plan_edited", "inspection.plan_retired"}


def test_admins_edit_checklist_items_on_the_page(
    db: Session, client: TestClient, site: Site, bearer: Any
) -> None:
    from civgrid.inspections.models import ChecklistItem

    item = site.template.items[0]
    url = f"/inspections/checklists/items/{item.id}"
    form = {
        "version": "1",
        "text_zh": "灭火器在有效期内",
        "category_code": site.world.category.code,
        "limit_amount": "5",
        "is_active": "1",
    }
    assert (
        client.get("/inspections/checklists", headers=bearer(site.world.worker)).status_code == 403
    )
    assert client.post(url, data=form, headers=bearer(site.world.worker)).status_code == 403
    admin = bearer(site.world.admin)
    page = client.get("/inspections/checklists", headers=admin)
    assert page.status_code == 200 and f'id="item-{item.id}"' in page.text
    r = client.post(url, data=form, headers=admin, follow_redirects=False)
    assert r.status_code == 303
    stale = client.post(url, data=form | {"text_zh": "旧"}, headers=admin)  # version 1 again
    assert stale.status_code == 409 and 'role="alert"' in stale.text
    bad = client.post(url, data=form | {"version": "2", "limit_amount": "abc"}, headers=admin)
    assert bad.status_code == 422
    db.expire_all()
    saved = db.get(ChecklistItem, item.id)
    assert saved is not None and (saved.text_zh, saved.limit_amount) == ("灭火器在有效期内", 5)
    assert (
        db.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "inspection.item_edited")
        )
        == 1
    )
