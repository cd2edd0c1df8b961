"""A refused report form keeps what was entered: category, position, text and photos (issue 19.6).

The photos are kept server-side under a token bound to the browser's session
(``civgrid.cases.pending``), for an hour, within a total size; a report that goes in deletes them.
"""

from __future__ import annotations

import os
import re
import time

from sqlalchemy import select

from civgrid.cases import pending
from civgrid.cases.attachments import check_image
from civgrid.cases.models import Case, CaseAttachment
from civgrid.config import get_settings
from tests.portal.conftest import Portal, Resident, png_bytes

TOKEN = re.compile(r'name="pending_photos" value="([^"]+)"')


def _refused_with_photos(portal: Portal, resident: Resident, n: int = 2) -> tuple[str, str]:
    """A report without a position but with ``n`` photos: (the page, the pending token)."""
    files = [("photos", (f"{i}.png", png_bytes((20 * i, 90, 90)), "image/png")) for i in range(n)]
    r = resident.report(portal, files=files, lon="", lat="", address="石碣大道 12 号")
    assert r.status_code == 422, r.text
    found = TOKEN.search(r.text)
    assert found is not None, "the photos are not kept"
    return r.text, found.group(1)


def test_the_refused_form_keeps_category_position_text_and_photos(
    portal: Portal, resident: Resident
) -> None:
    w = portal.world
    r = resident.report(portal, lon=str(w.lon), lat=str(w.lat), description="")
    assert r.status_code == 422
    page = r.text
    # the category stays chosen (a checked radio with its name), the position and the text stay
    assert re.search(rf'name="category_id" value="{w.category.id}" required checked', page)
    assert w.category.name_zh in page
    assert f'value="{w.lon}"' in page and f'value="{w.lat}"' in page

    page, token = _refused_with_photos(portal, resident)
    assert "路边垃圾堆放三天了" in page and "石碣大道 12 号" in page
    assert page.count('name="keep_photo"') == 2
    thumb = resident.client.get(f"/portal/pending/{token}/0")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["cache-control"] == "no-store"


def test_kept_photos_go_in_with_the_corrected_report_and_are_then_deleted(
    portal: Portal, resident: Resident
) -> None:
    _page, token = _refused_with_photos(portal, resident, n=2)
    folder = get_settings().attachments_path / "pending" / token
    assert folder.is_dir()
    # the resident leaves the second one out and adds a new one
    r = resident.report(
        portal,
        pending_photos=token,
        keep_photo="0",
        files=[("photos", ("new.png", png_bytes((1, 2, 3)), "image/png"))],
    )
    number, _code = resident.receipt(r)
    db = portal.world.db
    case = db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    photos = db.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case.id)).all()
    kept_hash = check_image(png_bytes((0, 90, 90))).sha256
    assert sorted(p.sha256 for p in photos) == sorted(
        [kept_hash, check_image(png_bytes((1, 2, 3))).sha256]
    )
    assert not folder.exists()  # taken in, so deleted


def test_kept_photos_belong_to_their_session_only(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    _page, token = _refused_with_photos(portal, resident, n=1)
    assert other_resident.client.get(f"/portal/pending/{token}/0").status_code == 404
    r = other_resident.report(portal, pending_photos=token, keep_photo="0")
    number, _code = other_resident.receipt(r)
    db = portal.world.db
    case = db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    assert db.scalar(select(CaseAttachment.id).where(CaseAttachment.case_id == case.id)) is None
    # nothing that is not a token reaches the file system
    assert resident.client.get("/portal/pending/..%2F..%2Fsecret/0").status_code == 404
    assert pending.take("../../etc") == [] and pending.thumbnail("x" * 22 + "/..", 0) is None


def test_kept_photos_expire_and_are_swept(portal: Portal, resident: Resident) -> None:
    _page, token = _refused_with_photos(portal, resident, n=1)
    folder = get_settings().attachments_path / "pending" / token
    old = time.time() - pending.KEEP_FOR - 60
    os.utime(folder, (old, old))
    assert pending.take(token) == []
    assert resident.client.get(f"/portal/pending/{token}/0").status_code == 404
    pending.sweep()
    assert not folder.exists()


def test_beyond_the_total_size_nothing_is_kept_and_the_form_says_so(
    portal: Portal, resident: Resident, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "pending_photos_max_bytes", 100)
    files = [("photos", ("a.png", png_bytes(), "image/png"))]
    r = resident.report(portal, files=files, lon="", lat="")
    assert r.status_code == 422
    assert 'name="pending_photos"' not in r.text
    assert "照片未能保留，请重新选择" in r.text


def test_a_bad_photo_is_refused_and_the_good_ones_are_kept(
    portal: Portal, resident: Resident
) -> None:
    resident.client.cookies.set("lang", "en")
    before = portal.count()
    files = [
        ("photos", ("good.png", png_bytes(), "image/png")),
        ("photos", ("bad.png", b"not an image", "image/png")),
    ]
    r = resident.report(portal, files=files)
    assert r.status_code == 422 and "not a readable" in r.text
    assert portal.count() == before
    assert r.text.count('name="keep_photo"') == 1


def test_a_photo_under_a_mixed_case_boundary_is_not_taken_for_text() -> None:
    """Chromium's boundaries mix cases; read lower-cased they split nothing, and the photo's NUL
    bytes were refused as text (400) for every report with a photo from a browser."""
    from civgrid.web.guards import _bad_body

    boundary = b"----WebKitFormBoundaryQdBFNlwX526uttdw"
    parts = [
        (b'Content-Disposition: form-data; name="description"', "路灯不亮".encode()),
        (
            b'Content-Disposition: form-data; name="photos"; filename="a.png"\r\n'
            b"Content-Type: image/png",
            png_bytes(),
        ),
    ]
    body = b"".join(b"--" + boundary + b"\r\n" + h + b"\r\n\r\n" + v + b"\r\n" for h, v in parts)
    body += b"--" + boundary + b"--\r\n"
    assert b"\x00" in png_bytes()
    assert _bad_body(body, b"multipart/form-data; boundary=" + boundary) is None
    bad = body.replace("路灯不亮".encode(), b"a\x00b")
    assert _bad_body(bad, b"multipart/form-data; boundary=" + boundary) is not None
