"""Request authentication: bearer tokens for the API, session cookie + CSRF for pages."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civgrid.auth.models import Role, User
from civgrid.auth.service import user_for_known_token, user_for_token
from civgrid.db.session import get_db
from civgrid.errors import Forbidden, Unauthorized

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token is missing or wrong (403)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = str((await request.form()).get(CSRF_FIELD) or "")
    expected = request.session.get("csrf")
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        raise Forbidden("CSRF token missing or wrong; reload the page and try again")


async def _csrf_ok(request: Request) -> bool:
    """Whether an unsafe request carries the session's CSRF token (awaits the form body only).

    A request with a bearer token has no session to forge: it is not checked.
    """
    if "authorization" in request.headers:
        return True
    try:
        await verify_csrf(request)
    except Forbidden:
        return False
    return True


async def optional_user(
    request: Request, csrf_ok: bool = Depends(_csrf_ok), db: Session = Depends(get_db)
) -> User | None:
    """The authenticated user, or None. A bad bearer token is an error, not anonymity.

    A known bearer token is answered on the event loop with no query (``user_for_known_token``);
    anything that reads the database runs in the thread pool: a statement on the event loop
    would block the whole server for as long as the database takes.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization header must be 'Bearer <token>'")
        user = user_for_known_token(db, token.strip())
        if user is None:
            user = await run_in_threadpool(user_for_token, db, token.strip())
    elif request.session.get("uid") is None:
        return None
    else:
        user = await run_in_threadpool(_session_user, request, db)
        if user is not None and not csrf_ok:
            raise Forbidden("CSRF token missing or wrong; reload the page and try again")
    request.state.user = user
    return user


def _session_user(request: Request, db: Session) -> User | None:
    """The user of the signed session cookie, if the session is still good."""
    user = db.get(User, request.session["uid"])
    if user is None or not user.is_active or user.auth_version != request.session.get("av"):
        request.session.clear()
        return None
    return user


async def current_user(user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise Unauthorized("login required")
    return user


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the current user, who must hold one of ``roles``."""

    async def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return user

    return dependency
