"""HTML to PDF with WeasyPrint, the one way civgrid prints (reports, the grid book, minutes …)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _weasyprint() -> Any:
    from PIL import ImageFile
    from weasyprint import HTML
    from weasyprint import images as _images  # noqa: F401  (loaded now, not mid-print)

    # WeasyPrint's image module turns on Pillow's "load truncated images" for the whole process
    # when it is loaded; the attachment check (check_image) would then take a cut-off upload for
    # a photo. civgrid prints only images it has checked already, so the default is put back.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return HTML


def html_to_pdf(html: str) -> bytes:
    """The HTML laid out as PDF bytes."""
    return bytes(_weasyprint()(string=html).write_pdf() or b"")
