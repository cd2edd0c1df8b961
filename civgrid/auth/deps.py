"""Request authentication: bearer tokens for the API, session cookie + CSRF for pages."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civgrid.auth.models import LoginSession, Role, User
from civgrid.auth.security import token_digest
from civgrid.auth.service import user_for_known_token, user_for_token
from civgrid.db.base import utcnow
from civgrid.db.session import get_db
from civgrid.errors import Forbidden, Unauthorized

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Viewer:
    """What the page layout shows of the logged-in user: plain values, not an ORM row.

    The request's session is closed (and its rows expired) before an error page is rendered;
    the layout must not depend on it.
    """

    id: int
    username: str
    display_name: str
    role: Role

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.username, user.display_name, user.role)


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
    return await _authenticated(request, csrf_ok, db, in_session=True)


async def _authenticated(
    request: Request, csrf_ok: bool | None, db: Session, *, in_session: bool
) -> User | None:
    """``optional_user``; ``csrf_ok`` None: checked here, for a session's user only."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization header must be 'Bearer <token>'")
        token = token.strip()
        user = user_for_known_token(db, token, in_session=in_session)
        if user is None:
            user = await run_in_threadpool(user_for_token, db, token, in_session=in_session)
    elif request.session.get("sid") is None:
        return None
    else:
        user = await run_in_threadpool(_session_user, request, db)
        if csrf_ok is None and user is not None:
            csrf_ok = await _csrf_ok(request)
        if user is not None and not csrf_ok:
            raise Forbidden("CSRF token missing or wrong; reload the page and try again")
    request.state.user = user
    request.state.viewer = Viewer.of(user) if user is not None else None
    return user


def _session_user(request: Request, db: Session) -> User | None:
    """The user of the signed session cookie, if its session is still open on the server."""
    row = db.scalar(
        select(LoginSession).where(
            LoginSession.key_hash == token_digest(str(request.session["sid"]))
        )
    )
    user = None if row is None or row.expires_at <= utcnow() else db.get(User, row.user_id)
    if user is None or not user.is_active:
        request.session.clear()
        return None
    return user


async def current_user(user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise Unauthorized("login required")
    return user


async def current_actor(request: Request, db: Session = Depends(get_db)) -> User:
    """``current_user`` for a route that uses the user only as who acts (id, role, scopes):
    with a bearer token, the process's read-only copy of the user, not copied into the
    request's session (``user_for_known_token``). The case intake's.

    One dependency less than ``current_user`` (the CSRF check is made here when a session's
    user needs it): each costs the intake a measurable part of its time in FastAPI.
    """
    user = await _authenticated(request, None, db, in_session=False)
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
