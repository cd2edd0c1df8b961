"""One Jinja2 environment over every domain's templates/ folder."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from civgrid.config import get_settings
from civgrid.web.i18n import catalogue, gettext, request_locale
from civgrid.web.nav import menu_for

PACKAGE_DIR = Path(__file__).resolve().parent.parent


@pass_context
def _translate(ctx: Any, message: str, **params: Any) -> str:
    text = gettext(ctx.get("locale", "zh_CN"), message)
    return text % params if params else text


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC datetime shown in the deployment's time zone."""
    if value is None:
        return ""
    return value.astimezone(get_settings().tz).strftime(fmt)


@pass_context
def _known(ctx: Any, message: str) -> str:
    """``message`` in the page's language, or "" if the catalogue has no translation for it."""
    locale = ctx.get("locale", "zh_CN")
    return message if locale == "en" else catalogue(locale).get(message, "")


@pass_context
def _error_text(ctx: Any, error: Any) -> str:
    """An error's message in the page's language, with its values in."""
    template = getattr(error, "template", error.message)
    text = gettext(ctx.get("locale", "zh_CN"), template)
    return text % error.detail if "%(" in template else text


def _data(value: Any) -> Markup:
    """People's data on a page (names, descriptions, notes, places), marked as not to be
    translated: it stays in the language it was written in (``translate="no"``)."""
    return Markup('<span translate="no">%s</span>') % ("" if value is None else value)


@pass_context
def _label(ctx: Any, choice: Any) -> str:
    return (
        str(choice.label(ctx.get("locale", "zh_CN"))) if hasattr(choice, "label") else str(choice)
    )


@pass_context
def _role_shown(ctx: Any, user: Any) -> str:
    """The role label the header shows after a staff name, or "" when the name already starts
    with the role in either language ("派遣员 李娜" is not followed by "· 派遣员" again)."""
    name = user.display_name or ""
    if any(name.startswith(user.role.label(loc)) for loc in ("zh_CN", "en")):
        return ""
    return _label(ctx, user.role)


@lru_cache
def environment() -> Environment:
    folders = sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.is_dir())
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = _translate
    env.globals["label"] = _label
    env.globals["role_shown"] = _role_shown
    env.globals["menu_for"] = menu_for
    env.globals["known"] = _known
    env.globals["error_text"] = _error_text
    env.filters["localtime"] = localtime
    env.filters["data"] = _data
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the request's locale, user and CSRF token in its context."""
    from civgrid.auth.deps import csrf_token

    locale = request_locale(request)
    ctx = {
        "request": request,
        "locale": locale,
        "csrf": csrf_token(request),
        "user": getattr(request.state, "viewer", None),
        "settings": get_settings(),
        **(context or {}),
    }
    html = environment().get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") == locale:
        response.set_cookie("lang", locale, max_age=365 * 86400, samesite="lax")
    return response
