"""A resident reports without an account: receipt, contact, photos, nearby reports, bad input."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from civgrid.cases.models import Case, CaseAttachment, CaseEvent, CaseSource
from civgrid.cases.transitions import CaseAction, CaseState
from civgrid.portal.models import ReporterReceipt, SubmissionMark
from civgrid.portal.service import hash_key
from tests.portal.conftest import Portal, Resident, jpeg_with_gps, png_bytes


def test_report_gives_a_receipt_and_the_case_enters_the_workflow(
    portal: Portal, resident: Resident
) -> None:
    r = resident.report(
        portal,
        files=[("photos", ("a.png", png_bytes(), "image/png"))],
        phone="138 1234 5678",
        address="石碣大道 12 号",
    )
    number, code = resident.receipt(r)
    db = portal.world.db
    case = db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    assert case.source == CaseSource.PORTAL
    assert case.state == CaseState.REPORTED
    assert case.reporter_phone == "138 1234 5678"
    assert case.grid_code == portal.world.grid_code
    receipt = db.get(ReporterReceipt, case.id)
    assert receipt is not None and receipt.key_hash == hash_key(code)
    assert code not in receipt.key_hash  # only the hash is kept
    photos = db.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case.id)).all()
    assert len(photos) == 1 and photos[0].uploaded_by_id is None
    # The code is shown once; the device remembers the report on the portal's start page.
    again = resident.client.get(f"/portal/cases/{number}").text
    assert code not in again
    assert "添加信息" in again or "补充" in again or 'id="add"' in again
    home = resident.client.get("/portal").text
    assert number in home


def test_the_receipt_page_says_nothing_personal_is_published(
    portal: Portal, resident: Resident
) -> None:
    page = resident.client.get("/portal/report").text
    assert 'name="phone"' in page and 'name="email"' in page
    assert "只有指挥中心" in page  # who sees the contact
    assert 'name="website"' in page and 'tabindex="-1"' in page  # the honeypot


BAD_INPUT = [
    ({"category_id": ""}, "choose a category"),
    ({"category_id": "999999"}, "choose a category"),
    ({"lon": "", "lat": ""}, "position"),
    ({"lon": "100.0", "lat": "30.0"}, "outside the service area"),
    ({"description": "   "}, "description is required"),
    ({"description": "x" * 4001}, "at most 4000"),
    ({"description": "<script>alert(1)</script>"}, "plain text"),
    ({"address": "<b>here</b>"}, "plain text"),
    ({"phone": "call me maybe"}, "phone"),
    ({"email": "not-an-address"}, "e-mail"),
    ({"website": "http://spam.example"}, "could not be accepted"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(
    portal: Portal, resident: Resident, fields: dict[str, str], message: str
) -> None:
    resident.client.cookies.set("lang", "en")
    before = portal.count()
    r = resident.report(portal, **fields)
    assert r.status_code in (400, 422), r.text
    assert message.lower() in r.text.lower()
    assert 'role="alert"' in r.text
    assert portal.count() == before
    assert portal.world.db.scalar(select(SubmissionMark.id)) is None


def test_the_form_keeps_what_was_typed_after_an_error(portal: Portal, resident: Resident) -> None:
    r = resident.report(portal, description="<i>x</i> 井盖丢了", phone="13812345678")
    assert r.status_code == 422
    assert "13812345678" in r.text  # not lost: the resident fixes and resends


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("photos", ("a.txt", b"not an image at all", "image/png"))], "not a readable"),
        ([("photos", ("a.gif", b"GIF89a" + b"\0" * 40, "image/gif"))], "JPEG, PNG or WebP"),
        ([("photos", (f"{i}.png", png_bytes(), "image/png")) for i in range(4)], "at most 3"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_stored(
    portal: Portal, resident: Resident, files, message: str
) -> None:  # type: ignore[no-untyped-def]
    resident.client.cookies.set("lang", "en")
    before = portal.count()
    r = resident.report(portal, files=files)
    assert r.status_code == 422
    assert message in r.text
    assert portal.count() == before


def test_an_oversized_photo_is_refused(portal: Portal, resident: Resident, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from civgrid.config import get_settings

    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 100)
    resident.client.cookies.set("lang", "en")
    before = portal.count()
    r = resident.report(portal, files=[("photos", ("a.png", png_bytes(), "image/png"))])
    assert r.status_code == 422 and "limit" in r.text
    assert portal.count() == before


def test_a_staff_complaint_category_cannot_be_reported_as_a_problem(
    portal: Portal, resident: Resident
) -> None:
    r = resident.report(portal, category_id=str(portal.complaint.id))
    assert r.status_code == 422


def test_rate_limit_per_address(portal: Portal, resident: Resident, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from civgrid.config import get_settings

    monkeypatch.setattr(get_settings(), "portal_max_per_ip_hour", 2)
    for _ in range(2):
        assert resident.report(portal).status_code == 303
    before = portal.count()
    r = resident.report(portal)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 60
    assert "过于频繁" in r.text
    assert portal.count() == before
    # Marks are keyed hashes: no address or phone number in readable form.
    buckets = portal.world.db.scalars(select(SubmissionMark.bucket)).all()
    assert buckets and all(len(b) == 64 and "testclient" not in b for b in buckets)


def test_rate_limit_per_contact(portal: Portal, resident: Resident, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from civgrid.config import get_settings

    monkeypatch.setattr(get_settings(), "portal_max_per_contact_day", 1)
    assert resident.report(portal, email="a@example.com").status_code == 303
    assert resident.report(portal, email="A@example.com ").status_code == 429
    assert resident.report(portal, email="b@example.com").status_code == 303


def test_nearby_open_reports_are_offered_and_a_resident_joins_one(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    w = portal.world
    existing = w.drive(w.report(description="垃圾桶满了，电话13812345678"), "register")
    private = w.report(category=portal.private, description="邻居漏水")
    url = f"/portal/nearby?category_id={w.category.id}&lon={w.lon + 0.0001}&lat={w.lat}"
    fragment = other_resident.client.get(url).text
    assert existing.number in fragment
    assert "138****5678" in fragment and "13812345678" not in fragment
    assert private.number not in fragment
    far = f"/portal/nearby?category_id={w.category.id}&lon={w.lon + 0.004}&lat={w.lat}"
    assert existing.number not in other_resident.client.get(far).text
    before = w.db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    join = f"/portal/cases/{existing.number}/join"
    r = other_resident.post(join, {"description": "我家门口也是"})
    assert r.status_code == 303
    event = w.db.scalar(select(CaseEvent).where(CaseEvent.action == CaseAction.SUPPLEMENT))
    assert event is not None and event.data["me_too"] and event.note == "我家门口也是"
    assert event.case_id == existing.id and event.actor_id is None
    assert w.db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == before  # no new case
    assert existing.number in other_resident.client.get("/portal").text  # followed


def test_a_private_case_cannot_be_joined(portal: Portal, resident: Resident) -> None:
    private = portal.world.report(category=portal.private, description="邻居漏水")
    r = resident.post(f"/portal/cases/{private.number}/join", {})
    assert r.status_code == 404


def test_public_photos_have_no_exif(portal: Portal, resident: Resident) -> None:
    r = resident.report(portal, files=[("photos", ("g.jpg", jpeg_with_gps(), "image/jpeg"))])
    number, _code = resident.receipt(r)
    db = portal.world.db
    case = db.scalar(select(Case).where(Case.number == number))
    att = db.scalar(select(CaseAttachment).where(CaseAttachment.case_id == case.id))  # type: ignore[union-attr]
    assert att is not None
    for path in (f"/portal/photos/{att.id}", f"/portal/photos/{att.id}/thumb"):
        got = resident.client.get(path)
        assert got.status_code == 200
        with Image.open(io.BytesIO(got.content)) as img:
            assert not img.getexif()
            assert "exif" not in img.info
    assert resident.client.get("/portal/photos/999999").status_code == 404
