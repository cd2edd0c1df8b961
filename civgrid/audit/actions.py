"""Writing the audit log. Callers pass the request's actor and address; nothing else writes here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.auth.models import User


def record(
    db: Session,
    action: str,
    *,
    actor: User | None,
    ip: str = "",
    object_type: str = "",
    object_id: str | int = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event to the caller's transaction."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        actor_label=actor.username if actor else "anonymous",
        ip=ip,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
    )
    db.add(event)
    return event


def log_personal_data_read(
    db: Session,
    *,
    actor: User | None,
    subject_type: str,
    subject_ids: Iterable[str | int],
    fields: Iterable[str],
    purpose: str,
    ip: str = "",
) -> AuditEvent:
    """The hook every feature calls when it shows personal data (PIPL/GDPR access log)."""
    ids = [str(i) for i in subject_ids]
    return record(
        db,
        "personal_data.read",
        actor=actor,
        ip=ip,
        object_type=subject_type,
        object_id=ids[0] if len(ids) == 1 else "",
        detail={"ids": ids, "fields": sorted(fields), "purpose": purpose},
    )
