"""Photos on cases: real-image check (Pillow decodes them), content-hash storage, thumbnails,
and EXIF-free renditions for everything shown outside staff.

Layout under ``Settings.attachments_path``: ``ab/<sha256>.orig`` (the upload, staff only),
``ab/<sha256>.public.<ext>`` (re-encoded, no EXIF/GPS/text chunks) and ``ab/<sha256>.thumb.jpg``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases.engine import Step, acting
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civgrid.cases.transitions import CaseAction
from civgrid.choices import LabelledEnum
from civgrid.config import get_settings
from civgrid.errors import Invalid

FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_PIXELS = 40_000_000
THUMB_SIZE = (320, 320)


class Rendition(LabelledEnum):
    ORIGINAL = ("original", "原图", "Original (staff only)")
    PUBLIC = ("public", "公开图", "Public copy without EXIF")
    THUMB = ("thumb", "缩略图", "Thumbnail")


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    sha256: str
    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]


def _megabytes(size: int) -> str:
    mb = size / 2**20
    return f"{mb:.1f}" if mb >= 0.1 else f"{mb:.2g}"


def check_image(data: bytes) -> CheckedImage:
    """Decode the bytes as a JPEG, PNG or WebP photo within the limits, or raise 422."""
    limit = get_settings().attachment_max_bytes
    if not data:
        raise Invalid("the file is empty")
    if len(data) > limit:
        raise Invalid(
            "the file is %(size_mb)s MB; the limit is %(limit_mb)s MB",
            size_mb=_megabytes(len(data)),
            limit_mb=_megabytes(limit),
            limit_bytes=limit,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                if fmt not in FORMATS:
                    raise Invalid(
                        "only JPEG, PNG or WebP photos are accepted, not %(format)s",
                        format=fmt or "?",
                    )
                if img.width * img.height > MAX_PIXELS:
                    raise Invalid("the photo has more than %(limit)s pixels", limit=MAX_PIXELS)
                img.load()  # a real decode, not just the header
                width, height = img.size
    except Invalid:
        raise
    except Image.DecompressionBombError:
        raise Invalid("the photo has more than %(limit)s pixels", limit=MAX_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise Invalid(
            "the file is not a readable JPEG, PNG or WebP image", reason=str(exc)[:200]
        ) from None
    return CheckedImage(data, hashlib.sha256(data).hexdigest(), fmt, width, height)


def path_for(sha256: str, rendition: Rendition, fmt: str = "JPEG") -> Path:
    folder = get_settings().attachments_path / sha256[:2]
    if rendition == Rendition.ORIGINAL:
        return folder / f"{sha256}.orig"
    if rendition == Rendition.THUMB:
        return folder / f"{sha256}.thumb.jpg"
    return folder / f"{sha256}.public.{FORMATS[fmt][1]}"


def _write(path: Path, data: bytes) -> None:
    """Write atomically; an identical file (same hash) is left as it is."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def clean_copy(data: bytes, fmt: str, thumb: bool) -> bytes:
    """Re-encode the pixels only: orientation applied, EXIF/GPS and metadata chunks dropped."""
    with Image.open(io.BytesIO(data)) as src:
        img = ImageOps.exif_transpose(src)
        out_fmt = "JPEG" if thumb else fmt
        if thumb:
            img.thumbnail(THUMB_SIZE)
        if out_fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        buf = io.BytesIO()
        img.save(buf, out_fmt, **({"quality": 85} if out_fmt in ("JPEG", "WEBP") else {}))
        return buf.getvalue()


def store_image(image: CheckedImage) -> None:
    """Store the original and its EXIF-free public copy and thumbnail by content hash."""
    _write(path_for(image.sha256, Rendition.ORIGINAL), image.data)
    _write(
        path_for(image.sha256, Rendition.PUBLIC, image.format),
        clean_copy(image.data, image.format, thumb=False),
    )
    _write(path_for(image.sha256, Rendition.THUMB), clean_copy(image.data, image.format, True))


class Stored(Protocol):
    sha256: str
    content_type: str


def rendition_file(att: Stored, rendition: Rendition) -> tuple[Path, str]:
    """(path, content type) of one rendition of a stored photo (a case's or an inspection's)."""
    fmt = next(f for f, (ct, _e) in FORMATS.items() if ct == att.content_type)
    path = path_for(att.sha256, rendition, fmt)
    content_type = "image/jpeg" if rendition == Rendition.THUMB else att.content_type
    return path, content_type


def add_photos(
    step: Step, images: Sequence[CheckedImage], *, kind: AttachmentKind, filename: str = ""
) -> list[CaseAttachment]:
    """Store checked photos on the step's case, with one ATTACH event each."""
    kind = AttachmentKind(kind)
    added = []
    for image in images:
        store_image(image)
        att = CaseAttachment(
            case_id=step.case.id,
            kind=kind,
            sha256=image.sha256,
            content_type=image.content_type,
            size=len(image.data),
            width=image.width,
            height=image.height,
            filename=Path(filename).name[:200],
            uploaded_by_id=step.actor.id if step.actor else None,
            uploaded_at=step.now,
        )
        step.db.add(att)
        step.db.flush()
        step.move(CaseAction.ATTACH, data={"kind": str(kind)}, attachment_ids=[att.id])
        added.append(att)
    return added


def attach_photo(
    db: Session,
    case: Case,
    *,
    actor: User,
    data: bytes,
    kind: AttachmentKind,
    filename: str = "",
) -> CaseAttachment:
    """Attach a before/after photo to a case (checked and stored before anything is written)."""
    image = check_image(data)
    with acting(db, case, actor, "attach", CaseAction.ATTACH) as step:
        (att,) = add_photos(step, [image], kind=kind, filename=filename)
    return att
