"""What the public may see of a case: the one place shared by the portal, the board and Open311.

Nothing personal leaves through here: no reporter identity or contact, and phone numbers,
ID-card numbers and e-mail addresses written into free text are masked. Photos shown outside
staff are the EXIF-free renditions made by :mod:`civgrid.cases.attachments`.
"""

from __future__ import annotations

import re

from civgrid.cases.transitions import CaseState
from civgrid.errors import Invalid

MAX_PUBLIC_DESCRIPTION = 4000

# 18-digit resident ID (last character may be X) and the old 15-digit form.
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})\d{8}\d{3}[0-9Xx](?![0-9A-Za-z])|(?<!\d)\d{15}(?!\d)"
)
# Mainland mobile numbers (1[3-9]x, optionally +86 and separators) and landlines (0xx-xxxxxxx).
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[ -]?(\d{7,8})(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


def _mask_id(m: re.Match[str]) -> str:
    if m.group(1):
        return m.group(1) + "*" * 12
    return "*" * 15


def mask_personal(text: str) -> str:
    """``text`` with ID-card numbers, phone numbers and e-mail addresses masked.

    >>> mask_personal("电话13812345678，身份证440101199001011234，邮箱 a.b@example.com")
    '电话138****5678，身份证440101************，邮箱 ***@***'
    """
    text = _EMAIL.sub("***@***", text or "")
    text = _ID_CARD.sub(_mask_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)


def has_html(text: str) -> bool:
    """True if ``text`` holds an HTML tag or entity (public descriptions are plain text)."""
    return bool(_HTML.search(text or ""))


def check_public_description(text: str | None) -> str:
    """A resident's or outside system's description, stripped; :class:`Invalid` if unusable."""
    text = (text or "").strip()
    if not text:
        raise Invalid("description is required", field="description")
    if len(text) > MAX_PUBLIC_DESCRIPTION:
        raise Invalid(
            f"description is {len(text)} characters; at most {MAX_PUBLIC_DESCRIPTION} allowed",
            field="description",
        )
    if has_html(text):
        raise Invalid("description must be plain text, without HTML", field="description")
    return text


def public_status(state: CaseState) -> str:
    """``open`` or ``closed``: the status the board and Open311 show."""
    return "open" if state.is_open else "closed"
