"""Which notices staff see and have read, and which the public sees for an area.

A notice reaches a staff member when one of its areas and the staff member's jurisdiction
overlap: a village notice reaches the village's grid workers, a grid notice the village's
leader. Read receipts are kept for staff only; the public pages record nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, false, literal, or_, select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.notices.models import Notice, NoticeReceipt, NoticeTarget

PUBLISH_ROLES = frozenset({Role.GRID_LEADER, Role.DUTY_CHIEF, Role.DISPATCHER, Role.ADMIN})


def _overlaps(codes: Sequence[str]) -> ColumnElement[bool]:
    """Targets inside one of ``codes``, or containing one of them."""
    return or_(
        false(),
        *[NoticeTarget.territory_code.startswith(c, autoescape=True) for c in codes],
        *[literal(c).startswith(NoticeTarget.territory_code) for c in codes],
    )


def _notice_condition(j: scope.Jurisdiction) -> ColumnElement[bool]:
    return exists(
        select(NoticeTarget.id).where(NoticeTarget.notice_id == Notice.id, _overlaps(j.codes))
    )


scope.register(
    Notice,
    roles={"view": scope.STAFF - {Role.DEPT_HANDLER}, "publish": PUBLISH_ROLES},
    condition=_notice_condition,
)


@dataclass(frozen=True)
class NoticeRow:
    notice: Notice
    read_at: datetime | None


def notices_for(db: Session, user: User, *, limit: int = 50) -> list[NoticeRow]:
    """The notices that reach ``user``, newest first, with the user's own read receipt."""
    query = select(Notice).order_by(Notice.published_at.desc())
    notices = db.scalars(scope.restrict(query, user, "view").limit(limit)).all()
    read = dict(
        db.execute(
            select(NoticeReceipt.notice_id, NoticeReceipt.read_at).where(
                NoticeReceipt.user_id == user.id,
                NoticeReceipt.notice_id.in_([n.id for n in notices]),
            )
        ).all()
    )
    return [NoticeRow(n, read.get(n.id)) for n in notices]


def receipts(db: Session, notice: Notice) -> Sequence[tuple[User, datetime]]:
    """Who of the staff confirmed reading ``notice``, and when."""
    query = (
        select(User, NoticeReceipt.read_at)
        .join(NoticeReceipt, NoticeReceipt.user_id == User.id)
        .where(NoticeReceipt.notice_id == notice.id)
        .order_by(NoticeReceipt.read_at)
    )
    return [(u, at) for u, at in db.execute(query).all()]


def public_notices(db: Session, area: str = "", *, limit: int = 50) -> Sequence[Notice]:
    """Public notices, newest first; with ``area`` (a village or grid code), those for it."""
    query = select(Notice).where(Notice.is_public.is_(True))
    if area:
        query = query.where(
            exists(
                select(NoticeTarget.id).where(
                    NoticeTarget.notice_id == Notice.id, _overlaps([area])
                )
            )
        )
    return db.scalars(query.order_by(Notice.published_at.desc()).limit(limit)).all()
