"""State changes for users, tokens and logins. Each runs in the caller's session and commits."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth.models import (
    ApiToken,
    Employment,
    LoginFailure,
    LoginSession,
    Role,
    ScopeKind,
    User,
    UserScope,
)
from civgrid.auth.security import hash_password, new_token, token_digest, verify_password
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Invalid, TooManyRequests, Unauthorized

MIN_PASSWORD_LENGTH = 8


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    db: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    scopes: Iterable[tuple[ScopeKind, str]] = (),
    employment: Employment | None = None,
    work_phone: str | None = None,
    actor: User | None,
    ip: str = "",
) -> User:
    """Create a user with a role and jurisdiction."""
    _check_password(password)
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    scopes = list(dict.fromkeys((ScopeKind(k), r if k != ScopeKind.ALL else "") for k, r in scopes))
    scope_rows = [UserScope(kind=k, ref=r) for k, r in scopes]  # each scope once
    if role != Role.RESIDENT and not scope_rows:
        raise Invalid("a staff user needs at least one scope (division, grid or department)")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=Role(role),
        employment=employment,
        work_phone=work_phone,
        scopes=scope_rows,
    )
    db.add(user)
    db.flush()
    record(
        db,
        "user.create",
        actor=actor,
        ip=ip,
        object_type="user",
        object_id=user.id,
        detail={
            "username": username,
            "role": str(role),
            "scopes": [[str(k), r] for k, r in scopes],
        },
    )
    db.commit()
    return user


def set_password(
    db: Session, user: User, password: str, *, actor: User | None, ip: str = ""
) -> None:
    """Change a password; existing sessions and tokens stop working."""
    _check_password(password)
    user.password_hash = hash_password(password)
    _end_all_sessions(db, user)
    record(db, "user.password", actor=actor, ip=ip, object_type="user", object_id=user.id)
    db.commit()


def deactivate_user(db: Session, user: User, *, actor: User | None, ip: str = "") -> None:
    """Deactivate a user; their sessions and tokens stop working at once."""
    user.is_active = False
    _end_all_sessions(db, user)
    record(db, "user.deactivate", actor=actor, ip=ip, object_type="user", object_id=user.id)
    db.commit()


def _end_all_sessions(db: Session, user: User) -> None:
    """End the user's browser sessions and bearer tokens (in the caller's transaction)."""
    user.auth_version += 1
    db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


SESSION_HOURS = 12


def start_session(db: Session, user: User) -> str:
    """A new browser session for ``user``; the key (for the cookie) is returned once."""
    key = new_token()
    expires = utcnow() + timedelta(hours=SESSION_HOURS)
    db.add(LoginSession(user_id=user.id, key_hash=token_digest(key), expires_at=expires))
    db.commit()
    return key


def end_session(db: Session, key: str, *, actor: User | None, ip: str = "") -> None:
    """Logout: the session's key stops working at once, wherever the cookie was copied."""
    db.execute(delete(LoginSession).where(LoginSession.key_hash == token_digest(key)))
    if actor is not None:
        record(db, "logout", actor=actor, ip=ip, object_type="user", object_id=actor.id)
    db.commit()


def _wait(db: Session, username: str, ip: str) -> int:
    """Seconds this (username, address) must wait before trying again; 0 if it may try now.

    Counted per (username, address) and per address within the window; past a limit each
    try waits twice as long as the one before. Never per username alone (a lock-out).
    """
    settings = get_settings()
    now = utcnow()
    window = timedelta(minutes=settings.login_failure_window_minutes)
    recent = select(func.count(), func.max(LoginFailure.at)).where(
        LoginFailure.ip == ip, LoginFailure.at >= now - window
    )
    pair = db.execute(recent.where(LoginFailure.username == username)).one()
    address = db.execute(recent).one()
    wait = 0.0
    for (count, last), limit in (
        (pair, settings.login_max_failures),
        (address, settings.login_max_failures_per_address),
    ):
        if count >= limit:
            delay = min(window.total_seconds(), settings.login_delay_seconds * 2 ** (count - limit))
            wait = max(wait, (last + timedelta(seconds=delay) - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


def authenticate(db: Session, username: str, password: str, *, ip: str) -> User:
    """Check a login; throttled per (username, address) and per address. Records the outcome.

    An unknown username is checked against a dummy hash: the answer takes the same time.
    """
    wait = _wait(db, username, ip)
    if wait:
        record(db, "login.throttled", actor=None, ip=ip, detail={"username": username})
        db.commit()
        raise TooManyRequests("too many failed logins; try again later", retry_after=wait)
    user = db.scalar(select(User).where(User.username == username))
    good = verify_password(user.password_hash if user else None, password)
    if user is None or not user.is_active or not good:
        db.add(LoginFailure(username=username, ip=ip))
        record(db, "login.failed", actor=None, ip=ip, detail={"username": username})
        db.commit()
        raise Unauthorized("wrong username or password")
    db.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.ip == ip))
    record(db, "login", actor=user, ip=ip, object_type="user", object_id=user.id)
    db.commit()
    return user


def issue_token(db: Session, user: User, *, ip: str = "") -> tuple[str, ApiToken]:
    """A new bearer token; the plain value is returned once and never stored."""
    token = new_token()
    row = ApiToken(
        user_id=user.id,
        token_hash=token_digest(token),
        expires_at=utcnow() + timedelta(hours=get_settings().token_ttl_hours),
    )
    db.add(row)
    record(db, "token.issue", actor=user, ip=ip, object_type="user", object_id=user.id)
    db.commit()
    return token, row


def revoke_token(db: Session, token: ApiToken, *, ip: str = "") -> None:
    token.revoked_at = utcnow()
    record(db, "token.revoke", actor=token.user, ip=ip, object_type="user", object_id=token.user_id)
    db.commit()


def update_user(
    db: Session,
    user: User,
    *,
    display_name: str | None = None,
    role: Role | None = None,
    employment: Employment | None = None,
    work_phone: str | None = None,
    scopes: Iterable[tuple[ScopeKind, str]] | None = None,
    actor: User | None,
    ip: str = "",
) -> User:
    """Edit a user's name, role, employment, phone or jurisdiction.

    A change of role or scope ends the user's sessions and tokens, so nobody keeps rights
    they no longer have.
    """
    changed: dict[str, object] = {}
    if display_name is not None and display_name != user.display_name:
        user.display_name = changed["display_name"] = display_name
    if employment is not None and employment != user.employment:
        user.employment = employment
        changed["employment"] = str(employment)
    if work_phone is not None and work_phone != user.work_phone:
        user.work_phone = work_phone or None
        changed["work_phone"] = True
    rights = False
    if role is not None and Role(role) != user.role:
        user.role = Role(role)
        changed["role"] = str(role)
        rights = True
    if scopes is not None:
        wanted = sorted({(ScopeKind(k), r if k != ScopeKind.ALL else "") for k, r in scopes})
        if user.role != Role.RESIDENT and not wanted:
            raise Invalid("a staff user needs at least one scope (division, grid or department)")
        if wanted != sorted((s.kind, s.ref) for s in user.scopes):
            user.scopes = [UserScope(kind=k, ref=r) for k, r in wanted]
            changed["scopes"] = [[str(k), r] for k, r in wanted]
            rights = True
    if rights:
        _end_all_sessions(db, user)
    record(
        db, "user.update", actor=actor, ip=ip, object_type="user", object_id=user.id, detail=changed
    )
    db.commit()
    return user


def reactivate_user(db: Session, user: User, *, actor: User | None, ip: str = "") -> None:
    """Let a deactivated user log in again; their old sessions and tokens stay ended."""
    user.is_active = True
    db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    record(db, "user.reactivate", actor=actor, ip=ip, object_type="user", object_id=user.id)
    db.commit()
