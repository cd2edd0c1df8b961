"""Photos: decoded, size-limited, stored by hash with thumbnails; public copies carry no EXIF."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.attachments import Rendition, check_image, path_for, rendition_file
from civgrid.cases.models import CaseAttachment
from civgrid.config import get_settings
from civgrid.errors import Invalid
from tests.cases.conftest import png_bytes

GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (80, 60), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (22.0, 48.0, 30.0), 3: "E", 4: (113.0, 48.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(CaseAttachment)) or 0


def _files() -> set[str]:
    root = get_settings().attachments_path
    return {str(p) for p in root.rglob("*")} if root.exists() else set()


def test_gps_exif_is_gone_from_public_copies(client: TestClient, bearer, world) -> None:
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture has GPS
    case = world.report()
    h = bearer(world.worker)
    r = client.post(
        f"/api/v1/cases/{case.number}/attachments",
        files={"file": ("street.jpg", data, "image/jpeg")},
        data={"kind": "before"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    att_id = r.json()["id"]
    url = f"/api/v1/cases/{case.number}/attachments/{att_id}"
    public = client.get(url, headers=h)
    assert public.status_code == 200 and public.headers["content-type"] == "image/jpeg"
    exif = Image.open(io.BytesIO(public.content)).getexif()
    assert not exif.get_ifd(GPS_IFD) and len(exif) == 0
    thumb = client.get(url + "?rendition=thumb", headers=h)
    timg = Image.open(io.BytesIO(thumb.content))
    assert max(timg.size) <= 320 and len(timg.getexif()) == 0
    original = client.get(url + "?rendition=original", headers=h)
    assert original.content == data  # staff keep the original as uploaded


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"GIF89a not really", "not a readable"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not a readable"),
    ],
)
def test_bad_files_are_422_and_nothing_is_stored(
    client: TestClient, db: Session, bearer, world, data: bytes, message: str
) -> None:
    case = world.report()
    before_rows, before_files = _count(db), _files()
    r = client.post(
        f"/api/v1/cases/{case.number}/attachments",
        files={"file": ("photo.jpg", data, "image/jpeg")},
        headers=bearer(world.worker),
    )
    assert r.status_code == 422
    assert message in r.json()["detail"]
    assert _count(db) == before_rows
    assert _files() == before_files


def test_gif_is_refused_even_when_real() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "GIF")
    with pytest.raises(Invalid, match="JPEG, PNG or WebP"):
        check_image(buf.getvalue())


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 100)
    with pytest.raises(Invalid, match="limit"):
        check_image(png_bytes(size=(200, 200)))


def test_content_hash_storage_and_webp(db: Session, world) -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (30, 20), (1, 2, 3, 128)).save(buf, "WEBP")
    case = world.report()
    a = world.photo(case, actor=world.worker)
    b = world.photo(case, actor=world.worker)
    rows = [db.get(CaseAttachment, i) for i in (a, b)]
    assert rows[0] is not None and rows[1] is not None
    assert rows[0].sha256 == rows[1].sha256  # same bytes, one stored file
    assert path_for(rows[0].sha256, Rendition.ORIGINAL).exists()
    img = check_image(buf.getvalue())
    assert img.content_type == "image/webp" and (img.width, img.height) == (30, 20)
    path, ctype = rendition_file(rows[0], Rendition.PUBLIC)
    assert path.exists() and ctype == "image/png"
