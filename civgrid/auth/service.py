"""Queries about users and tokens."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import bindparam, exists, false, or_, select
from sqlalchemy.orm import Session, joinedload

from civgrid.auth import scope
from civgrid.auth.models import ApiToken, Role, ScopeKind, User, UserScope
from civgrid.auth.security import token_digest
from civgrid.db.base import utcnow
from civgrid.db.cache import TableCache
from civgrid.errors import Unauthorized

_TOKEN_QUERY = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(joinedload(ApiToken.user).joinedload(User.scopes))
)


def user_for_token(db: Session, token: str, *, in_session: bool = True) -> User:
    """The user a bearer token belongs to, in ``db``'s session, or 401 saying why not.

    With ``in_session`` False, the process's detached copy of the user instead (see
    ``user_for_known_token``).
    """
    digest = token_digest(token)
    known = _TOKENS.get(db)
    hit = known.get(digest)
    if hit is None:
        # Requests that arrive together with a token not (or no longer) remembered wait for
        # the one that checks it, instead of each checking it again.
        with _CHECKING_LOCK:
            checking = _CHECKING.setdefault(digest, threading.Lock())
        with checking:
            hit = known.get(digest)
            if hit is None:
                known[digest] = hit = _check_token(db, digest)
        _CHECKING.pop(digest, None)
    return _in_session(db, hit) if in_session else _unexpired(hit)


def user_for_known_token(db: Session, token: str, *, in_session: bool = True) -> User | None:
    """``user_for_token`` for a token checked recently, with no I/O; None if it is not known.

    The user is copied into ``db``'s session without loading it (see ``_TOKENS``). With
    ``in_session`` False it is not: the caller gets the process's detached copy, shared by
    every request with the token, which it must only read (its id, role and scopes, all
    loaded) and never add to a session; the copy into the session was a measurable part of
    an intake.
    """
    hit = _TOKENS.get(db).get(token_digest(token))
    if hit is None:
        return None
    return _in_session(db, hit) if in_session else _unexpired(hit)


def _unexpired(hit: tuple[User, datetime]) -> User:
    user, expires_at = hit
    if expires_at <= utcnow():
        raise Unauthorized("token expired")
    return user


def _in_session(db: Session, hit: tuple[User, datetime]) -> User:
    return db.merge(_unexpired(hit), load=False)


def _check_token(db: Session, digest: str) -> tuple[User, datetime]:
    """(a detached copy of the token's user with its scopes, the token's expiry); 401 if bad."""
    # One round trip: the token, its user and the user's scopes (the scope check needs them).
    row = db.scalars(_TOKEN_QUERY, {"token_hash": digest}).unique().one_or_none()
    if row is None:
        raise Unauthorized("invalid token")
    if not row.user.is_active:
        raise Unauthorized("account disabled")
    if row.revoked_at is not None:
        raise Unauthorized("invalid token")
    # Copied into a session of its own and left detached: requests copy it into theirs.
    with Session() as scratch:
        user = scratch.merge(row.user, load=False)
    return user, row.expires_at


# Tokens seen valid, by digest, per database: emptied when this process writes users, their
# scopes or tokens (revoking a token, deactivating a user, changing a password …), and at least
# every 2 s for a change made by another process (civgrid.db.cache). A bad token is never kept.
_TOKENS: TableCache[dict[str, tuple[User, datetime]]] = TableCache(
    "api_tokens", lambda _db: {}, (User, UserScope, ApiToken)
)
_CHECKING: dict[str, threading.Lock] = {}  # by digest: held while that token is checked
_CHECKING_LOCK = threading.Lock()


def _users_in(j: scope.Jurisdiction):  # type: ignore[no-untyped-def]
    """Users with at least one scope inside the admin's codes."""
    return exists().where(
        UserScope.user_id == User.id,
        UserScope.kind.in_([ScopeKind.DIVISION, ScopeKind.GRID]),
        or_(false(), *[UserScope.ref.startswith(c, autoescape=True) for c in j.codes]),
    )


scope.register(
    User,
    roles={"view": {Role.ADMIN, Role.DUTY_CHIEF}, "change": {Role.ADMIN}, "add": {Role.ADMIN}},
    condition=_users_in,
)
