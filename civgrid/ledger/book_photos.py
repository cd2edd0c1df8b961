"""Photos in the grid book: each urban component's photo and the photos of each place's latest
inspection, printed as small JPEG thumbnails with captions (zh-CN first, then English).

The thumbnails are made here with Pillow from the stored thumbnail (or, failing that, the
original) and bounded in size and number, so a grid's book stays small and quick to lay out. A
photo whose file is missing or unreadable is printed as a placeholder: it never stops the book.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from civgrid.cases.attachments import MAX_PIXELS, Rendition, path_for
from civgrid.cases.models import Case
from civgrid.grids.models import Grid
from civgrid.inspections.models import (
    ChecklistItem,
    InspectionPhoto,
    InspectionRecord,
    InspectionResult,
    ItemResult,
)
from civgrid.ledger.models import MODELS, Component, LedgerKind
from civgrid.ledger.schemas import component_classes

THUMB_PX = 280  # the longer side: about 47 mm wide at 150 dpi, three to a row
THUMB_QUALITY = 70
MAX_COMPONENT_PHOTOS = 60
MAX_INSPECTION_PHOTOS = 60


@dataclass(frozen=True)
class BookPhoto:
    """One printed photo: a data: URI (None when the file is missing or unreadable), a zh-CN
    caption and its English line; ``alert`` marks a failed item."""

    src: str | None
    caption_zh: str
    caption_en: str
    alert: bool = False


@dataclass(frozen=True)
class PhotoSection:
    photos: list[BookPhoto]
    left_out: int  # photos beyond the section's bound, counted but not printed


def thumbnail(paths: Iterable[Path]) -> bytes | None:
    """A small JPEG of the first readable image among ``paths``, or None if none is."""
    for path in paths:
        data = _downscaled(path)
        if data is not None:
            return data
    return None


def _downscaled(path: Path) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as src:
                if src.width * src.height > MAX_PIXELS:
                    return None
                src.draft("RGB", (THUMB_PX, THUMB_PX))  # JPEG: decode at a smaller scale
                img = ImageOps.exif_transpose(src)
                img.thumbnail((THUMB_PX, THUMB_PX))
                if img.mode != "RGB":
                    img = img.convert("RGB")
                buf = io.BytesIO()
                img.save(buf, "JPEG", quality=THUMB_QUALITY)
                return buf.getvalue()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError, Warning):
        return None


class _Thumbs:
    """Data URIs by content hash, made once per book (the same photo may be printed twice)."""

    def __init__(self) -> None:
        self.made: dict[str, str | None] = {}

    def uri(self, sha256: str | None) -> str | None:
        if sha256 is None:
            return None
        if sha256 not in self.made:
            paths = (path_for(sha256, Rendition.THUMB), path_for(sha256, Rendition.ORIGINAL))
            data = thumbnail(paths)
            self.made[sha256] = (
                "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else None
            )
        return self.made[sha256]


def component_photos(db: Session, grid: Grid, thumbs: _Thumbs) -> PhotoSection:
    """The photos of the grid's current components, by class and code."""
    rows = db.scalars(
        select(Component)
        .where(
            Component.grid_code == grid.code,
            Component.retired_at.is_(None),
            Component.photo != "",
        )
        .order_by(Component.class_code, Component.code)
    ).all()
    classes = component_classes()
    photos = [
        BookPhoto(
            thumbs.uri(c.photo_sha256),
            f"{classes.get(c.class_code, c.class_code)} {c.class_code} · {c.state.label_zh}"
            f" · {c.code}",
            f"Component {c.class_code} · {c.state.label_en}",
            alert=c.state.colour == "red",
        )
        for c in rows[:MAX_COMPONENT_PHOTOS]
    ]
    return PhotoSection(photos, max(0, len(rows) - MAX_COMPONENT_PHOTOS))


def inspection_photos(db: Session, grid: Grid, thumbs: _Thumbs, tz: tzinfo) -> PhotoSection:
    """The photos of each current place's latest inspection in the grid, failed items first."""
    rows = db.execute(_latest_photos(grid)).all()
    labels = _place_labels(db, {(r.target_kind, r.target_id) for r in rows})
    current = [r for r in rows if (r.target_kind, r.target_id) in labels]
    photos = [
        _inspection_photo(r, labels[(r.target_kind, r.target_id)], thumbs, tz)
        for r in current[:MAX_INSPECTION_PHOTOS]
    ]
    return PhotoSection(photos, max(0, len(current) - MAX_INSPECTION_PHOTOS))


def _latest_photos(grid: Grid) -> Any:
    record = InspectionRecord
    latest = (
        select(record.target_kind, record.target_id, func.max(record.inspected_at).label("at"))
        .where(record.grid_code == grid.code)
        .group_by(record.target_kind, record.target_id)
        .subquery()
    )
    failed = InspectionResult.result == ItemResult.FAIL
    return (
        select(
            InspectionPhoto.sha256,
            record.target_kind,
            record.target_id,
            record.inspected_at,
            ChecklistItem.text_zh,
            ChecklistItem.text_en,
            InspectionResult.result,
            Case.number,
        )
        .join(record, record.id == InspectionPhoto.record_id)
        .join(
            latest,
            (latest.c.target_kind == record.target_kind)
            & (latest.c.target_id == record.target_id)
            & (latest.c.at == record.inspected_at),
        )
        .join(ChecklistItem, ChecklistItem.id == InspectionPhoto.item_id)
        .outerjoin(
            InspectionResult,
            (InspectionResult.record_id == InspectionPhoto.record_id)
            & (InspectionResult.item_id == InspectionPhoto.item_id),
        )
        .outerjoin(Case, Case.id == InspectionResult.case_id)
        .where(record.grid_code == grid.code)
        .order_by(case((failed, 0), else_=1), record.inspected_at.desc(), InspectionPhoto.id)
    )


def _inspection_photo(row: Any, place: str, thumbs: _Thumbs, tz: tzinfo) -> BookPhoto:
    result = ItemResult(row.result) if row.result else None
    when = row.inspected_at.astimezone(tz).date().isoformat()
    zh = [place, row.text_zh, result.label_zh if result else "", when]
    if row.number:
        zh.append(f"案件 {row.number}")
    en = [row.text_en, result.label_en if result else ""]
    return BookPhoto(
        thumbs.uri(row.sha256),
        " · ".join(p for p in zh if p),
        " · ".join(p for p in en if p),
        alert=result == ItemResult.FAIL,
    )


def _place_labels(db: Session, targets: set[tuple[LedgerKind, int]]) -> dict[Any, str]:
    """(kind, id) → what the caption names the place by, for current places only."""
    labels: dict[Any, str] = {}
    classes = component_classes()
    for kind in {k for k, _ in targets}:
        model = MODELS[LedgerKind(kind)]
        ids = [i for k, i in targets if k == kind]
        for row in db.scalars(select(model).where(model.id.in_(ids), model.retired_at.is_(None))):
            labels[(kind, row.id)] = _place_label(row, classes)
    return labels


def _place_label(row: Any, classes: dict[str, str]) -> str:
    if isinstance(row, Component):
        return f"{classes.get(row.class_code, row.class_code)} {row.code}"
    for name in ("name", "address", "full_text"):
        text = getattr(row, name, "")
        if text:
            return str(text)
    return str(row.code)


def book_photos(db: Session, grid: Grid, tz: tzinfo) -> dict[str, PhotoSection]:
    """The book's two photo sections, thumbnails made."""
    thumbs = _Thumbs()
    return {
        "component_photos": component_photos(db, grid, thumbs),
        "inspection_photos": inspection_photos(db, grid, thumbs, tz),
    }
