"""Reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent


def recent_events(
    db: Session, *, action: str | None = None, limit: int = 100
) -> Sequence[AuditEvent]:
    """The newest audit events first, optionally of one action."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.scalars(query).all()
