"""HTML to PDF with WeasyPrint, the one way civgrid prints (reports, the grid book, minutes …)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)


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


# One line in the fonts the documents print in (regular and bold, Chinese and Latin).
_WARM_UP = (
    "<html lang=\"zh-CN\"><body style=\"font-family: 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', "
    'sans-serif"><p>指标 <b>报告</b> 0123456789</p></body></html>'
)


def warm() -> None:
    """Load WeasyPrint and the fonts once, off the request path.

    The first document a process prints costs about twice the next ones: the import (cffi
    reading Pango's declarations, the user-agent stylesheets) and fontconfig and the CJK fonts
    opened on first use. A server pays that at start instead of on a user's first report.
    """
    try:
        html_to_pdf(_WARM_UP)
    except OSError:  # Pango missing: the server still starts; printing fails as it would have
        log.warning("WeasyPrint could not be loaded: PDFs will fail", exc_info=True)


def html_to_pdf(html: str) -> bytes:
    """The HTML laid out as PDF bytes."""
    return bytes(_weasyprint()(string=html).write_pdf() or b"")
