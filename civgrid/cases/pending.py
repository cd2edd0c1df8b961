"""Photos of a refused report form, kept for a while so that nobody has to pick them again.

A report refused for a missing position or category (or a rate limit) used to lose its photos:
on a phone, choosing them again is the worst part of the form. The checked photos of a refused
form are kept under ``<attachments>/pending/<token>/`` (the upload and a thumbnail); the form
comes back with the token, and the next post takes them up again.

Limits: a token is random (128 bits) and the route binds it to the browser's session; at most
``MAX_PHOTOS`` per token, each already within the upload limit; kept ``KEEP_FOR`` at most; all
pending photos together at most ``Settings.pending_photos_max_bytes`` (beyond it nothing more is
kept and the form asks for the photos again). Every keep sweeps the expired sets; a successful
report discards its own at once.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from secrets import token_urlsafe

from civgrid.cases.attachments import CheckedImage, check_image, clean_copy
from civgrid.config import get_settings
from civgrid.errors import Invalid

KEEP_FOR = 3600  # seconds
MAX_PHOTOS = 3
TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def _root() -> Path:
    return get_settings().attachments_path / "pending"


def _folder(token: str) -> Path | None:
    """The token's folder, or None for anything that is not a token (no path tricks)."""
    return _root() / token if TOKEN.match(token or "") else None


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def sweep(now: float | None = None) -> int:
    """Delete the pending sets older than ``KEEP_FOR``; the bytes of the sets that remain."""
    root, now = _root(), now or time.time()
    if not root.is_dir():
        return 0
    total = 0
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        if now - folder.stat().st_mtime > KEEP_FOR:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            total += _size(folder)
    return total


def keep(images: Sequence[CheckedImage]) -> str:
    """Keep up to ``MAX_PHOTOS`` checked photos; their token ('' if none, or no room left)."""
    images = list(images)[:MAX_PHOTOS]
    if not images:
        return ""
    need = sum(len(i.data) for i in images)
    if sweep() + need > get_settings().pending_photos_max_bytes:
        return ""
    token = token_urlsafe(16)
    folder = _root() / token
    folder.mkdir(parents=True)
    for n, image in enumerate(images):
        (folder / f"{n}.orig").write_bytes(image.data)
        (folder / f"{n}.thumb.jpg").write_bytes(clean_copy(image.data, image.format, thumb=True))
    return token


def kept(token: str) -> list[int]:
    """The numbers of the photos kept under ``token`` ([] when unknown or expired)."""
    folder = _folder(token)
    if folder is None or not folder.is_dir():
        return []
    if time.time() - folder.stat().st_mtime > KEEP_FOR:
        return []
    return sorted(int(f.name.split(".")[0]) for f in folder.glob("*.orig"))


def take(token: str, numbers: Sequence[int] | None = None) -> list[CheckedImage]:
    """The kept photos (those of ``numbers``, or all), checked again as they are read."""
    folder = _folder(token)
    wanted = kept(token)
    if numbers is not None:
        wanted = [n for n in wanted if n in set(numbers)]
    if folder is None:
        return []
    photos = []
    for n in wanted:
        try:
            photos.append(check_image((folder / f"{n}.orig").read_bytes()))
        except (OSError, Invalid):
            continue  # swept meanwhile, or damaged: the form asks for it again
    return photos


def thumbnail(token: str, number: int) -> Path | None:
    """The thumbnail of one kept photo (EXIF-free JPEG), or None."""
    folder = _folder(token)
    if folder is None or number not in kept(token):
        return None
    return folder / f"{number}.thumb.jpg"


def discard(token: str) -> None:
    """Delete a pending set (its report went in, or it was replaced)."""
    folder = _folder(token)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
