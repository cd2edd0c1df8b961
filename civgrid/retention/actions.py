"""The retention purge (PIPL Art. 19): personal data removed once its keeping period is over.

Each kind has its own period in ``Settings`` (days; docs/scope.md lists them):

- ``reporter_contact``: a reporter's phone and e-mail, N days after the case is closed
  (closed, evaluated, rejected, voided or merged; the last of ``closed_at``/``updated_at``);
- ``login_failures``: failed-login rows (username typed, address), N days after the try;
- ``login_usernames``: the username typed into a failed or throttled login's audit event;
- ``audit_ip``: the address in audit events, replaced by a keyed hash (the events stay);
- ``photo_location``: the EXIF location of a photo's stored original, N days after its case
  is closed (the staff original is kept, its pixels untouched where the format allows);
- ``dispute_parties``: a mediated dispute's parties, N days after the dispute is concluded
  (agreed, withdrawn or referred: ``closed_at``): names become 当事人甲, 乙 …, contacts are
  cleared, and the dispute's texts lose them too (``civgrid.mediation.actions``).

One run is one transaction per kind; a run that removed anything appends one audit event
``retention.purge`` with the counts. A dry run only counts. A second run finds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.audit.models import AuditEvent
from civgrid.auth.models import LoginFailure
from civgrid.cases.attachments import Rendition, path_for
from civgrid.cases.models import Case, CaseAttachment
from civgrid.cases.transitions import CaseState
from civgrid.config import Settings, get_settings
from civgrid.db.base import utcnow
from civgrid.mediation.actions import pseudonymise_parties
from civgrid.mediation.models import Dispute
from civgrid.mediation.service import CONCLUDED

log = logging.getLogger(__name__)

CLOSED_STATES = [s for s in CaseState if not s.is_open]
LOGIN_ACTIONS = ("login.failed", "login.throttled")
PSEUDONYM_PREFIX = "h:"
GPS_IFD = 0x8825  # the EXIF tag that points at the GPS block
BATCH = 500


@dataclass(frozen=True)
class Kind:
    """One kind of personal data with its own keeping period."""

    name: str
    setting: str
    what: str

    def days(self, settings: Settings) -> int:
        return int(getattr(settings, self.setting))


KINDS = (
    Kind("reporter_contact", "retention_reporter_contact_days", "reporter phone and e-mail"),
    Kind("login_failures", "retention_login_failures_days", "failed-login rows"),
    Kind("login_usernames", "retention_login_failures_days", "usernames in login audit events"),
    Kind("audit_ip", "retention_audit_ip_days", "audit-log addresses (pseudonymised)"),
    Kind("photo_location", "retention_photo_location_days", "photo originals' EXIF location"),
    Kind("dispute_parties", "retention_dispute_parties_days", "dispute parties (pseudonymised)"),
)


@dataclass
class PurgeReport:
    """What one run removed (or, in a dry run, would remove), per kind."""

    dry_run: bool
    now: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def pseudonym(ip: str, secret: str) -> str:
    """A keyed hash of an address: the same address gives the same pseudonym, unreadable
    without the secret key (IPv4's 2^32 addresses make an unkeyed hash reversible)."""
    digest = hmac.new(secret.encode(), f"audit-ip:{ip}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:16]


def purge(db: Session, *, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Remove (or count, with ``dry_run``) every kind of personal data past its period."""
    settings = get_settings()
    report = PurgeReport(dry_run=dry_run, now=now or utcnow())
    for kind in KINDS:
        cutoff = report.now - timedelta(days=kind.days(settings))
        report.counts[kind.name] = _PURGES[kind.name](db, cutoff, dry_run, settings)
        if dry_run:
            db.rollback()
        else:
            db.commit()
    if not dry_run and report.total:
        record(
            db,
            "retention.purge",
            actor=None,
            object_type="retention",
            detail={"counts": report.counts, "days": _days(settings)},
        )
        db.commit()
    return report


def _days(settings: Settings) -> dict[str, int]:
    return {kind.name: kind.days(settings) for kind in KINDS}


def _closed_before(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Case.state.in_(CLOSED_STATES), func.coalesce(Case.closed_at, Case.updated_at) < cutoff
    )


def _reporter_contact(db: Session, cutoff: datetime, dry_run: bool, _s: Settings) -> int:
    where = and_(
        _closed_before(cutoff),
        or_(Case.reporter_phone.is_not(None), Case.reporter_email.is_not(None)),
    )
    if dry_run:
        return db.scalar(select(func.count()).select_from(Case).where(where)) or 0
    ids = db.scalars(select(Case.id).where(where).with_for_update(skip_locked=True)).all()
    for i in range(0, len(ids), BATCH):
        db.execute(
            update(Case)
            .where(Case.id.in_(ids[i : i + BATCH]))
            .values(reporter_phone=None, reporter_email=None, version=Case.version + 1)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def _login_failures(db: Session, cutoff: datetime, dry_run: bool, _s: Settings) -> int:
    where = LoginFailure.at < cutoff
    if dry_run:
        return db.scalar(select(func.count()).select_from(LoginFailure).where(where)) or 0
    result = db.execute(delete(LoginFailure).where(where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _login_usernames(db: Session, cutoff: datetime, dry_run: bool, _s: Settings) -> int:
    rows = db.execute(
        select(AuditEvent.id, AuditEvent.detail).where(
            AuditEvent.action.in_(LOGIN_ACTIONS),
            AuditEvent.at < cutoff,
            AuditEvent.detail["username"].as_string().is_not(None),
        )
    ).all()
    changes = [
        {"id": event_id, "detail": {k: v for k, v in detail.items() if k != "username"}}
        for event_id, detail in rows
        if isinstance(detail, dict) and "username" in detail
    ]
    if not dry_run:
        for i in range(0, len(changes), BATCH):
            db.execute(update(AuditEvent), changes[i : i + BATCH])
    return len(changes)


def _audit_ip(db: Session, cutoff: datetime, dry_run: bool, settings: Settings) -> int:
    where = and_(
        AuditEvent.at < cutoff,
        AuditEvent.ip != "",
        AuditEvent.ip.not_like(PSEUDONYM_PREFIX + "%"),
    )
    if dry_run:
        return db.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
    done = 0
    for ip in db.scalars(select(AuditEvent.ip).where(where).distinct()).all():
        result = db.execute(
            update(AuditEvent)
            .where(where, AuditEvent.ip == ip)
            .values(ip=pseudonym(ip, settings.secret_key))
            .execution_options(synchronize_session=False)
        )
        done += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return done


def _photo_location(db: Session, cutoff: datetime, dry_run: bool, _s: Settings) -> int:
    due = db.execute(
        select(CaseAttachment.id, CaseAttachment.sha256)
        .join(Case, Case.id == CaseAttachment.case_id)
        .where(CaseAttachment.location_removed_at.is_(None), _closed_before(cutoff))
    ).all()
    # An original stored once for several cases (same content) waits for the last of them.
    waiting = set(
        db.scalars(
            select(CaseAttachment.sha256)
            .join(Case, Case.id == CaseAttachment.case_id)
            .where(
                CaseAttachment.sha256.in_({sha for _id, sha in due}),
                ~_closed_before(cutoff),
            )
        ).all()
    )
    ready = [(att_id, sha) for att_id, sha in due if sha not in waiting]
    if dry_run:
        return len(ready)
    now = utcnow()
    for sha in sorted({sha for _id, sha in ready}):
        strip_location(path_for(sha, Rendition.ORIGINAL))
    ids = [att_id for att_id, _sha in ready]
    for i in range(0, len(ids), BATCH):
        db.execute(
            update(CaseAttachment)
            .where(CaseAttachment.id.in_(ids[i : i + BATCH]))
            .values(location_removed_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def _dispute_parties(db: Session, cutoff: datetime, dry_run: bool, _s: Settings) -> int:
    where = and_(
        Dispute.state.in_(CONCLUDED),
        Dispute.closed_at < cutoff,
        Dispute.parties_purged_at.is_(None),
    )
    if dry_run:
        return db.scalar(select(func.count()).select_from(Dispute).where(where)) or 0
    disputes = db.scalars(
        select(Dispute).where(where).order_by(Dispute.id).with_for_update(skip_locked=True)
    ).all()
    now = utcnow()
    for dispute in disputes:
        pseudonymise_parties(db, dispute, now=now)
    return len(disputes)


def strip_location(path: Path) -> bool:
    """Remove the GPS block from a stored original's EXIF, keeping the picture; True if changed.

    JPEG is re-saved with its own quantisation tables (``quality="keep"``), WebP losslessly,
    PNG is lossless anyway; a missing or unreadable file is left alone (logged).
    """
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            if GPS_IFD not in exif:
                return False
            del exif[GPS_IFD]
            fmt = img.format or ""
            options: dict[str, object] = {"exif": exif.tobytes()}
            if fmt == "JPEG":
                options.update(quality="keep", subsampling="keep")
            elif fmt == "WEBP":
                options.update(lossless=True)
            buf = io.BytesIO()
            img.save(buf, fmt, **options)
    except OSError as exc:
        log.warning("retention: cannot strip the location from %s: %s", path.name, exc)
        return False
    _replace(path, buf.getvalue())
    return True


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_bytes(data)
    tmp.replace(path)


_PURGES = {
    "reporter_contact": _reporter_contact,
    "login_failures": _login_failures,
    "login_usernames": _login_usernames,
    "audit_ip": _audit_ip,
    "photo_location": _photo_location,
    "dispute_parties": _dispute_parties,
}


def kinds_table() -> Sequence[tuple[str, str, int]]:
    """(kind, setting, days) for each kind, with the configured days."""
    settings = get_settings()
    return [(k.name, k.setting, k.days(settings)) for k in KINDS]
