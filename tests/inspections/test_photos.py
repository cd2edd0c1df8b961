"""Photos on inspection items: uploaded with the record, a failed item's photo on its case;
bad files refused in the caller's language with nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civgrid.config import get_settings
from civgrid.inspections.models import InspectionPhoto, InspectionRecord
from tests.cases.conftest import png_bytes
from tests.inspections.conftest import Site
from tests.inspections.test_api import payload
from tests.security.test_bad_input import bomb_png

URL = "/api/v1/inspections/records/with-photos"


def send(
    client: TestClient, site: Site, headers: dict[str, str], files: list[tuple[str, Any]], **kw: Any
) -> Any:
    record = payload(site, ["pass", "fail", "na"], kw.pop("key", "draft-photo-1"))
    return client.post(
        URL,
        data={"record": json.dumps(record)},
        files=files,
        headers=headers | {"Accept-Language": kw.pop("lang", "zh-CN")},
    )


def test_photos_go_with_the_record_and_a_failed_items_photo_to_its_case(
    db: Session, client: TestClient, site: Site, bearer: Any
) -> None:
    headers = bearer(site.world.worker)
    passed, failed = site.template.items[0], site.template.items[1]
    files = [
        (f"photo-{failed.id}", ("fail.png", png_bytes((200, 0, 0)), "image/png")),
        (f"photo-{passed.id}", ("ok.png", png_bytes((0, 200, 0)), "image/png")),
    ]
    r = send(client, site, headers, files)
    assert r.status_code == 201, r.text
    assert r.json()["photos"] == 2 and len(r.json()["cases"]) == 1
    photos = db.scalars(select(InspectionPhoto).order_by(InspectionPhoto.id)).all()
    assert [p.item_id for p in photos] == [failed.id, passed.id]
    on_case = db.get(CaseAttachment, photos[0].case_attachment_id)
    assert on_case is not None and on_case.sha256 == photos[0].sha256
    assert on_case.kind == AttachmentKind.BEFORE
    case = db.scalar(select(Case).where(Case.number == r.json()["cases"][0]))
    assert case is not None and on_case.case_id == case.id
    assert photos[1].case_attachment_id is None
    thumb = client.get(
        f"/api/v1/inspections/photos/{photos[1].id}?rendition=thumb", headers=headers
    )
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    outsider = bearer(site.world.outsider)
    assert (
        client.get(f"/api/v1/inspections/photos/{photos[1].id}", headers=outsider).status_code
        == 404
    )
    again = send(client, site, headers, files)  # the offline draft sent a second time
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    assert db.scalar(select(func.count(InspectionPhoto.id))) == 2
    assert db.scalar(select(func.count(CaseAttachment.id))) == 1
    page = client.get(f"/inspections/records/{r.json()['id']}", headers=headers)
    assert page.status_code == 200
    assert f"/api/v1/inspections/photos/{photos[0].id}?rendition=thumb" in page.text
    assert case.number in page.text


@pytest.mark.parametrize(
    ("data", "lang", "expected"),
    [
        (b"not an image at all", "zh-CN", "文件不是可读取的 JPEG、PNG 或 WebP 图片"),
        (bomb_png(), "zh-CN", "照片超过 40000000 像素"),
        (bomb_png(), "en", "the photo has more than 40000000 pixels"),
        (b"", "zh-CN", "文件为空"),
        ("big", "zh-CN", "上限为"),
    ],
)
def test_a_bad_photo_is_refused_in_the_callers_language_and_nothing_is_stored(
    db: Session,
    client: TestClient,
    site: Site,
    bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
    data: Any,
    lang: str,
    expected: str,
) -> None:
    if data == "big":
        monkeypatch.setattr(get_settings(), "attachment_max_bytes", 200)
        data = png_bytes(size=(300, 300))
    item = site.template.items[1]
    good = (f"photo-{site.template.items[0].id}", ("ok.png", png_bytes(), "image/png"))
    files = [good, (f"photo-{item.id}", ("x.png", data, "image/png"))]
    r = send(client, site, bearer(site.world.worker), files, lang=lang)
    assert r.status_code == 422, r.text
    assert expected in r.json()["message"]
    assert db.scalar(select(func.count(InspectionRecord.id))) == 0
    assert db.scalar(select(func.count(Case.id))) == 0
    assert db.scalar(select(func.count(InspectionPhoto.id))) == 0


def test_photos_for_other_items_or_too_many_are_refused(
    db: Session, client: TestClient, site: Site, bearer: Any
) -> None:
    headers = bearer(site.world.worker)
    item = site.template.items[0]
    r = send(client, site, headers, [("photo-999999", ("a.png", png_bytes(), "image/png"))])
    assert r.status_code == 422 and "检查表" in r.json()["message"]
    four = [(f"photo-{item.id}", (f"{i}.png", png_bytes((i, 0, 0)), "image/png")) for i in range(4)]
    r = send(client, site, headers, four, key="draft-photo-2")
    assert r.status_code == 422 and "3" in r.json()["message"]
    r = client.post(URL, data={"record": "{not json"}, headers=headers)
    assert r.status_code == 422
    assert db.scalar(select(func.count(InspectionRecord.id))) == 0


def test_a_browsers_multipart_boundary_keeps_its_capitals(
    db: Session, client: TestClient, site: Site, bearer: Any
) -> None:
    """Chromium's boundary is ``----WebKitFormBoundaryAbC…``: the text-field check must split
    the body by it as sent, or it reads the photo's bytes as text (a NUL: 400)."""
    boundary = "----WebKitFormBoundaryAbCdEfGh12"
    record = json.dumps(payload(site, ["pass", "fail", "na"], "draft-browser-1"))
    item = site.template.items[1].id
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="record"\r\n\r\n{record}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo-{item}"; '
            f'filename="p.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + png_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = bearer(site.world.worker) | {
        "Content-Type": f"multipart/form-data; boundary={boundary}"
    }
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["photos"] == 1
