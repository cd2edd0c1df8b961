"""The ledger pages and the offline inspection form in real Chromium, on the demo."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from civgrid.cases.models import Case, CaseAttachment, CaseSource
from civgrid.inspections.models import InspectionPhoto, InspectionRecord
from tests.cases.conftest import png_bytes
from tests.desk.test_browser import PHONE, login, same_origin

pytestmark = pytest.mark.browser

# the field form's IndexedDB outbox: each entry's first note and its photos (kept as Blobs)
OUTBOX = """window.civgridInspectionOutbox().then((box) => box.map((e) => ({
  note: e.record.results[0].note,
  photos: e.photos.map((p) => ({ name: p.name, blob: p.blob instanceof Blob, size: p.blob.size })),
})))"""


def test_ledger_list_detail_correction_and_map(
    browser: Any, demo_site: Any, screenshot: Any
) -> None:
    base = demo_site.base
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    login(page, base, "leader")
    page.goto(base + "/ledger?kind=units")
    assert "网格台账" in page.inner_text("h1")
    page.fill("#q", "餐馆")
    page.click("form[role=search] button")
    rows = page.locator("table.ledger-list tbody tr")
    assert rows.count() > 0
    assert "餐馆" in rows.first.inner_text()
    same_origin(page, base)
    screenshot(page, "list")
    rows.first.locator("a").first.click()
    page.wait_for_selector("#h-history")
    page.select_option("#f-fire_status", "存在隐患")
    page.click("form.ledger-form button[type=submit]")
    page.wait_for_selector("#h-history ~ table >> text=消防状态")
    assert "合格 → 存在隐患" in page.inner_text("#h-history ~ table")  # labels, not raw values
    screenshot(page, "detail")
    page.goto(base + "/ledger/map?kind=components")
    page.wait_for_function("document.getElementById('layer-status').textContent.length > 1")
    assert page.locator(".leaflet-interactive, .ledger-cluster").count() > 0
    same_origin(page, base)
    screenshot(page, "map")
    ctx.close()


def test_offline_inspection_is_sent_once_when_back_online(
    browser: Any, demo_site: Any, screenshot: Any
) -> None:
    base = demo_site.base
    with demo_site.sessions() as db:
        before = db.scalar(select(func.count(InspectionRecord.id)))
        cases_before = db.scalar(
            select(func.count(Case.id)).where(Case.source == CaseSource.INSPECTION)
        )
        photos_before = db.scalar(select(func.count(InspectionPhoto.id)))
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    login(page, base, "worker")
    page.goto(base + "/field/inspections")
    screenshot(page, "due")
    page.locator("table.due-list a.button").first.click()
    page.wait_for_selector("#inspection-form")
    items = page.locator("[data-item]")
    for i in range(items.count()):
        items.nth(i).locator("input[value=pass]").check()
    items.nth(0).locator("input[value=fail]").check()
    items.nth(0).locator("input[name^=note-]").fill("灭火器压力不足")
    ctx.set_offline(True)
    photo = {"name": "extinguisher.png", "mimeType": "image/png", "buffer": png_bytes()}
    items.nth(0).locator("input[type=file]").set_input_files(photo)
    page.wait_for_function("document.querySelector('[data-photos]').textContent.length > 0")
    page.click("#inspection-form button[type=submit]")
    page.wait_for_selector("#inspection-status:not([hidden])")
    assert "离线" in page.inner_text("#inspection-status")
    outbox = page.evaluate(OUTBOX)
    assert len(outbox) == 1 and outbox[0]["note"] == "灭火器压力不足"
    assert outbox[0]["photos"] == [
        {"name": "extinguisher.png", "blob": True, "size": len(photo["buffer"])}
    ]
    screenshot(page, "offline")
    with demo_site.sessions() as db:
        assert db.scalar(select(func.count(InspectionRecord.id))) == before
    ctx.set_offline(False)
    page.wait_for_function(
        "document.getElementById('inspection-status').textContent.includes('已提交')"
    )
    assert page.evaluate(OUTBOX) == []
    screenshot(page, "sent")
    page.reload()  # nothing is left to send twice
    page.wait_for_load_state("load")
    with demo_site.sessions() as db:
        assert db.scalar(select(func.count(InspectionRecord.id))) == before + 1
        cases = db.scalar(select(func.count(Case.id)).where(Case.source == CaseSource.INSPECTION))
        assert cases == cases_before + 1
        photos = db.scalars(select(InspectionPhoto).order_by(InspectionPhoto.id.desc())).all()
        assert len(photos) == photos_before + 1 and photos[0].case_attachment_id is not None
        assert db.get(CaseAttachment, photos[0].case_attachment_id).sha256 == photos[0].sha256  # type: ignore[union-attr]
    ctx.close()
