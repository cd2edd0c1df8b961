"""Photos in the grid book (component photos, the latest inspections' photos) as small
thumbnails with captions; a missing or broken file prints a placeholder. And the component's
photo itself: set on its page or by the API, checked like a case attachment."""

from __future__ import annotations

import io
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.cases.attachments import Rendition, check_image, path_for
from civgrid.errors import Invalid
from civgrid.grids.models import Grid
from civgrid.inspections.actions import ItemAnswer, ItemPhoto, submit_inspection
from civgrid.inspections.models import ItemResult
from civgrid.ledger import actions, book_photos
from civgrid.ledger.book import build_book
from civgrid.ledger.models import Component, LedgerChange, LedgerKind
from tests.cases.conftest import World, world  # noqa: F401  (the fixture)
from tests.inspections.conftest import Site, site  # noqa: F401  (the fixture)
from tests.ledger.conftest import Place
from tests.ledger.test_routes import login

PLACEHOLDER = "照片文件缺失或无法读取"


def photo(
    colour: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (900, 600)
) -> bytes:
    """A photo of one colour with a stripe (so no two tests store the same file)."""
    img = Image.new("RGB", size, colour)
    img.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (0, 0, size[0] // 3, size[1]))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def component(db: Session, world: World, code: str, data: bytes | None = None) -> Component:  # noqa: F811
    cells = {"code": code, "class_code": "C01001", "lon": world.lon, "lat": world.lat}
    row = actions.add_record(db, LedgerKind.COMPONENTS, cells, actor=None)
    if data is not None:
        actions.set_component_photo(db, row, check_image(data), actor=world.worker)
    return row  # type: ignore[no-any-return]


def inspect(db: Session, site: Site, photos: list[tuple[int, bytes]], key: str) -> Any:  # noqa: F811
    items = site.template.items
    results = [ItemResult.PASS, ItemResult.FAIL, ItemResult.NOT_APPLICABLE]
    return submit_inspection(
        db,
        template=site.template,
        kind=LedgerKind.UNITS,
        target_id=site.unit.id,
        answers=[
            ItemAnswer(i.id, r, "通道堆放杂物" if r == ItemResult.FAIL else "")
            for i, r in zip(items, results, strict=True)
        ],
        actor=site.world.worker,
        client_key=key,
        photos=[ItemPhoto(items[n].id, check_image(data)) for n, data in photos],
    )


def book(db: Session, grid_code: str, tmp_path: Path) -> tuple[str, list[list[str]]]:
    """The book's text (pdftotext) and its images (pdfimages -list: one row of columns each)."""
    grid = db.scalar(select(Grid).where(Grid.code == grid_code))
    assert grid is not None
    path = tmp_path / "book.pdf"
    path.write_bytes(build_book(db, grid, today=date(2026, 12, 7)))
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())  # captions wrap inside their figure
    return flat, [line.split() for line in listing.splitlines()[2:]]


def has(text: str, expected: str) -> bool:
    return "".join(expected.split()) in text


def test_the_book_prints_component_and_inspection_photos_as_thumbnails(
    db: Session,
    site: Site,  # noqa: F811
    tmp_path: Path,
) -> None:
    here = site.world
    component(db, here, "PC-1", photo((20, 90, 160)))
    component(db, here, "PC-2")  # no photo: not in the photo pages
    passed, failed = site.template.items[0], site.template.items[1]
    inspect(
        db,
        site,
        [(1, photo((160, 40, 20), "JPEG", (3000, 2000))), (0, photo((30, 150, 60), "WEBP"))],
        "book-1",
    )
    text, images = book(db, here.grid_code, tmp_path)
    assert has(text, "部件照片 Component photos（1）")
    assert has(text, "最近检查照片 Photos of the latest inspections（2）")
    assert has(text, "供水井盖 C01001 · 完好 · PC-1")
    assert has(text, f"好味餐馆 · {failed.text_zh} · 不合格") and has(text, "Fail")
    assert has(text, f"好味餐馆 · {passed.text_zh} · 合格")
    assert not has(text, PLACEHOLDER)
    assert len(images) == 3
    for row in images:  # num type width height …: every image downscaled to the bound
        assert max(int(row[3]), int(row[4])) <= book_photos.THUMB_PX, row
        assert row[2] == "image" and row[8] == "jpeg", row


def test_only_the_latest_inspection_and_a_bounded_number_are_printed(
    db: Session,
    site: Site,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = inspect(db, site, [(0, photo((200, 200, 10)))], "old")
    first.inspected_at -= timedelta(days=30)  # a month before the next one
    db.commit()
    inspect(db, site, [(0, photo((10, 200, 200)))], "new")
    for n in range(3):
        component(db, site.world, f"PB-{n}", photo((40 * n, 10, 90)))
    monkeypatch.setattr(book_photos, "MAX_COMPONENT_PHOTOS", 2)
    text, images = book(db, site.world.grid_code, tmp_path)
    assert has(text, "最近检查照片 Photos of the latest inspections（1）")
    assert has(text, "部件照片 Component photos（3）") and has(text, "另有 1 张照片未印出")
    assert has(text, "PB-0") and not has(text, "PB-2")
    assert len(images) == 3


def test_missing_or_broken_photo_files_print_a_placeholder(
    db: Session,
    site: Site,  # noqa: F811
    tmp_path: Path,
) -> None:
    here = site.world
    broken = component(db, here, "PX-1", photo((5, 6, 7)))
    sha = broken.photo_sha256
    assert sha is not None
    for rendition in (Rendition.THUMB, Rendition.ORIGINAL):  # a disk fault: both unreadable
        stored = path_for(sha, rendition)
        stored.write_bytes(stored.read_bytes()[:200])
    gone = component(db, here, "PX-2")
    gone.photo = "f" * 64 + ".jpg"  # no such file
    odd = component(db, here, "PX-3")
    odd.photo = "../../etc/passwd"  # not a reference at all
    db.commit()
    record = inspect(db, site, [(0, photo((8, 9, 10)))], "broken-1")
    for rendition in (Rendition.THUMB, Rendition.ORIGINAL):
        path_for(record.photos[0].sha256, rendition).unlink()
    text, images = book(db, here.grid_code, tmp_path)
    assert text.count(PLACEHOLDER) == 4
    assert all(has(text, code) for code in ("PX-1", "PX-2", "PX-3"))
    assert images == []


def test_a_component_photo_from_the_api_and_the_page(
    client: TestClient, db: Session, place: Place, bearer: Any
) -> None:
    cells = {"code": "PA-1", "class_code": "C01001", "lon": place.lon, "lat": place.lat}
    row = actions.add_record(db, LedgerKind.COMPONENTS, cells, actor=None)
    url = f"/api/v1/ledger/components/{row.id}/photo"
    upload = {"file": ("lid.jpg", photo((120, 120, 0), "JPEG"), "image/jpeg")}
    assert client.post(url, files=upload).status_code == 401
    assert client.post(url, files=upload, headers=bearer(place.handler)).status_code == 403
    assert client.post(url, files=upload, headers=bearer(place.outsider)).status_code == 404
    bad = client.post(
        url,
        files={"file": ("x.jpg", b"not a photo", "image/jpeg")},
        headers=bearer(place.worker) | {"Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422 and "不是可读取的" in bad.json()["message"]
    assert db.scalar(select(Component.photo).where(Component.id == row.id)) == ""
    r = client.post(url, files=upload, headers=bearer(place.worker))
    assert r.status_code == 200, r.text
    assert r.json()["photo"].endswith(".jpg") and r.json()["version"] == 2
    thumb = client.get(url, headers=bearer(place.worker))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert client.get(url, headers=bearer(place.outsider)).status_code == 404
    again = client.post(url, files=upload, headers=bearer(place.worker))
    assert again.json()["version"] == 2  # the same photo again changes nothing
    login(client, place.worker)
    page = client.get(f"/ledger/components/{row.id}")
    assert f'src="/api/v1/ledger/components/{row.id}/photo"' in page.text
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    refused = client.post(
        f"/ledger/components/{row.id}/photo",
        files={"file": ("x.png", b"", "image/png")},
        data={"csrf_token": token},
    )
    assert refused.status_code == 422 and "文件为空" in refused.text
    done = client.post(
        f"/ledger/components/{row.id}/photo",
        files={"file": ("b.png", photo((0, 120, 120)), "image/png")},
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    history = db.scalars(
        select(LedgerChange.action)
        .where(LedgerChange.record_id == row.id)
        .order_by(LedgerChange.id)
    ).all()
    assert history == ["created", "photo set", "photo set"]


def test_a_cut_off_upload_is_still_refused_after_a_book_is_printed(
    db: Session, place: Place, tmp_path: Path
) -> None:
    book(db, place.grid_code, tmp_path)  # WeasyPrint loaded: it lets Pillow read cut-off files
    noise = io.BytesIO()
    Image.effect_noise((640, 480), 50).convert("RGB").save(noise, "JPEG")
    with pytest.raises(Invalid):
        check_image(noise.getvalue()[: len(noise.getvalue()) // 2])
