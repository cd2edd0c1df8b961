"""Queries about users and tokens."""

from __future__ import annotations

from sqlalchemy import bindparam, exists, false, or_, select
from sqlalchemy.orm import Session, joinedload

from civgrid.auth import scope
from civgrid.auth.models import ApiToken, Role, ScopeKind, User, UserScope
from civgrid.auth.security import token_digest
from civgrid.db.base import utcnow
from civgrid.errors import Unauthorized

_TOKEN_QUERY = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(joinedload(ApiToken.user).joinedload(User.scopes))
)


def user_for_token(db: Session, token: str) -> tuple[User, ApiToken]:
    """The user a bearer token belongs to, or 401 saying why not."""
    # One round trip: the token, its user and the user's scopes (the scope check needs them).
    row = db.scalars(_TOKEN_QUERY, {"token_hash": token_digest(token)}).unique().one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid token")
    if row.expires_at <= utcnow():
        raise Unauthorized("token expired")
    if not row.user.is_active:
        raise Unauthorized("account disabled")
    return row.user, row


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
