"""What every request goes through: a request id, text that is really text, and one answer for
the unexpected.

- ``RequestGuard`` (ASGI middleware) gives each request an id (``X-Request-ID``, in the logs
  and on every error) and refuses, before any route runs, a path, query or form field that
  holds a NUL character or is not UTF-8: a clear 400, never mojibake, never a 500 from a
  database that cannot store it.
- ``error_response`` answers an error in the route's own format: the GeoReport error list
  under ``/open311/``, JSON under ``/api/`` and for non-browser clients, else an HTML page.
- ``unexpected`` is the single handler for what no other handler knows: the database refused
  a value (out of its range): 400; anything else: logged with its request id, 500.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, StatementError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("civgrid.web")

FORM = b"application/x-www-form-urlencoded"
JSON = b"application/json"
MULTIPART = b"multipart/form-data"


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(
        ("/api/", "/open311/")
    ) and "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, message: str, code: str = "", **extra: Any
) -> Response:
    """An error in the format the route speaks."""
    rid = request_id(request)
    path = request.url.path
    if path.startswith("/open311/"):
        from civgrid.open311.formats import error_response as georeport
        from civgrid.open311.formats import format_of_path

        text = f"{message} (request {rid})" if status >= 500 else message
        return georeport(format_of_path(path), status, text)
    if wants_html(request):
        return HTMLResponse(_page(request, status, message, rid), status_code=status)
    body = {"detail": message, "code": code or _CODES.get(status, "error"), **extra}
    if status >= 500:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status)


_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "server_error"}


def _page(request: Request, status: int, message: str, rid: str) -> str:
    """The error page, rendered without the session (it may be what failed)."""
    from civgrid.config import get_settings
    from civgrid.web.i18n import request_locale
    from civgrid.web.templating import environment

    class Shown:
        status_code, request_id = status, rid

    Shown.message = message  # type: ignore[attr-defined]
    ctx = {
        "request": request,
        "locale": request_locale(request),
        "csrf": "",
        "user": None,
        "settings": get_settings(),
        "error": Shown,
    }
    return environment().get_template("web/error.html").render(ctx)


def _bad_text(raw: bytes) -> str | None:
    """Why percent-decoded ``raw`` is not acceptable text, or None."""
    if b"\x00" in raw:
        return "a NUL character is not allowed in text"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the text is not UTF-8: send UTF-8, percent-encoded in forms and addresses"
    return None


def _bad_query(raw: bytes) -> str | None:
    for pair in raw.split(b"&"):
        why = _bad_text(unquote_to_bytes(pair.replace(b"+", b" ")))
        if why:
            return why
    return None


def _bad_multipart(body: bytes, content_type: bytes) -> str | None:
    """Checks the text fields of a multipart body (files are bytes, not text).

    The boundary keeps its case (browsers' have capitals); only the parameter name is folded."""
    at = content_type.lower().find(b"boundary=")
    boundary = content_type[at + len(b"boundary=") :] if at >= 0 else b""
    boundary = boundary.split(b";")[0].strip().strip(b'"')
    if not boundary:
        return None
    for part in body.split(b"--" + boundary):
        head, sep, value = part.partition(b"\r\n\r\n")
        if sep and b"filename=" not in head:
            why = _bad_text(value.removesuffix(b"\r\n"))
            if why:
                return why
    return None


def _bad_body(body: bytes, raw_type: bytes) -> str | None:
    content_type = raw_type.lower()
    if content_type.startswith(FORM):
        return _bad_text(body) or _bad_query(body)
    if content_type.startswith(JSON):
        if b"\x00" in body or b"\\u0000" in body.lower():
            return "a NUL character is not allowed in text"
        return None
    if content_type.startswith(MULTIPART):
        return _bad_multipart(body, raw_type)
    return None


class RequestGuard:
    """ASGI middleware: a request id for every request; text that is not text refused (400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        raw_path = scope.get("raw_path") or scope["path"].encode()
        why = _bad_text(unquote_to_bytes(raw_path)) or _bad_query(scope.get("query_string", b""))
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").lower()
        if why is None and content_type.startswith((FORM, JSON, MULTIPART)):
            body, receive = await _buffered(receive)
            why = _bad_body(body, headers.get(b"content-type", b""))
        if why is not None:
            response = error_response(Request(scope), 400, why, "bad_text")
            await response(scope, receive, send_with_id)
            return
        await self.app(scope, receive, send_with_id)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that replays it."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _out_of_range(exc: BaseException | None) -> bool:
    """Whether the database (or its driver) refused a value as out of its range."""
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        exc = exc.orig  # a value the driver could not even bind (SQLite: int beyond 64 bits)
    return isinstance(exc, OverflowError | DataError)


async def unexpected(request: Request, exc: Exception) -> Response:
    """The one handler for exceptions nothing else handles."""
    if _out_of_range(exc):
        return error_response(request, 400, "a value is out of the range this field accepts")
    log.error(
        "request %s: unexpected %s on %s %s",
        request_id(request),
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    response = error_response(
        request, 500, "internal error; quote the request id when reporting it"
    )
    # sent by Starlette's outermost middleware, past RequestGuard: the id goes on here
    response.headers["X-Request-ID"] = request_id(request)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's errors (404 for no route, 405 …): in the GeoReport format under /open311."""
    from fastapi.exception_handlers import http_exception_handler

    if isinstance(exc, HTTPException) and request.url.path.startswith("/open311/"):
        return error_response(request, exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)  # type: ignore[arg-type]
