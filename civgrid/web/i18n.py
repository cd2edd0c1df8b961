"""Translations from Babel catalogues (msgids in English; zh-CN is the default locale)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi import Request

from civgrid.config import get_settings
from civgrid.errors import CivgridError

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = ("zh_CN", "en")


@lru_cache
def catalogue(locale: str) -> dict[str, str]:
    """msgid → translation for ``locale`` (English needs none)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def gettext(locale: str, message: str) -> str:
    return catalogue(locale).get(message, message)


def localized(exc: CivgridError, locale: str) -> CivgridError:
    """The error with its text in the caller's language too (``message``), for API callers."""
    params = {k: v for k, v in exc.detail.items() if isinstance(v, str | int | float)}
    text = gettext(locale, exc.template)
    try:
        text = text % params if "%(" in text else text
    except (KeyError, ValueError, TypeError):
        text = exc.message
    exc.detail = {**exc.detail, "message": text}
    return exc


def request_locale(request: Request) -> str:
    """?lang=, then the lang cookie, then Accept-Language, then the deployment default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang")):
        if candidate in LOCALES:
            return candidate
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("zh"):
        return "zh_CN"
    return get_settings().default_locale


def N_(message: str) -> str:
    """Mark a message for extraction (``make messages``); it is translated where it is shown."""
    return message
