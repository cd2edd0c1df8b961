"""Portal queries: receipts, rate limits, nearby reports and the public timeline of a case."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.models import Role, User
from civgrid.cases import public
from civgrid.cases.actions import Contact
from civgrid.cases.duplicates import find_duplicates
from civgrid.cases.models import Case, CaseEvent
from civgrid.cases.public import PublicCase, mask_personal, public_cases, public_views
from civgrid.cases.transitions import CaseAction
from civgrid.catalogue.models import Category, CategoryKind
from civgrid.catalogue.service import staff_complaint_category
from civgrid.config import get_settings
from civgrid.departments.models import Department
from civgrid.errors import Invalid, NotFound, TooManyRequests
from civgrid.portal.models import ReporterReceipt, SubmissionMark
from civgrid.web.i18n import N_

# A tracking code: 10 characters without look-alikes (0/O, 1/I/L), shown as "ABCDE-FGHJK".
KEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
KEY_LENGTH = 10


def new_key() -> str:
    """A fresh tracking code for a receipt (about 50 bits)."""
    raw = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_key(key: str) -> str:
    """The code as typed, without spaces, dashes or case differences."""
    return "".join(ch for ch in key.upper() if ch.isalnum())


def hash_key(key: str) -> str:
    return hashlib.sha256(normalise_key(key).encode()).hexdigest()


def receipt_matches(db: Session, case: Case, key: str) -> bool:
    """Whether ``key`` is the tracking code issued with ``case`` (the holder is its reporter)."""
    receipt = db.get(ReporterReceipt, case.id)
    return (
        receipt is not None and bool(key) and hmac.compare_digest(receipt.key_hash, hash_key(key))
    )


def case_for_receipt(db: Session, number: str, key: str) -> Case:
    """The case of a receipt; one message for a wrong number and a wrong code alike."""
    case = db.scalar(select(Case).where(Case.number == number.strip()))
    if case is None or not receipt_matches(db, case, key):
        raise NotFound("no report matches this case number and tracking code")
    return case


# --- anti-abuse ----------------------------------------------------------------------------------


def bucket(kind: str, value: str) -> str:
    """A keyed hash of an address or contact: countable, not readable."""
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"{kind}:{value.strip().lower()}".encode(), "sha256").hexdigest()


def buckets_for(ip: str, contact: Contact) -> list[tuple[str, int, timedelta]]:
    """(bucket, limit, window) for each rate limit that applies to one submission."""
    settings = get_settings()
    found = []
    if ip:
        found.append((bucket("ip", ip), settings.portal_max_per_ip_hour, timedelta(hours=1)))
    for value in (contact.phone, contact.email):
        if value:
            day = timedelta(days=1)
            found.append((bucket("contact", value), settings.portal_max_per_contact_day, day))
    return found


def check_rate(db: Session, ip: str, contact: Contact, now: datetime) -> None:
    """429 when this address or contact has sent its share of reports for now."""
    for key, limit, window in buckets_for(ip, contact):
        since = now - window
        marks = select(func.count(), func.min(SubmissionMark.at)).where(
            SubmissionMark.bucket == key, SubmissionMark.at > since
        )
        count, oldest = db.execute(marks).one()
        if count >= limit:
            retry = max(60, int((oldest + window - now).total_seconds()))
            raise TooManyRequests(
                "too many reports from here in a short time; please try again later",
                retry_after=retry,
            )


# --- what residents may pick and see ----------------------------------------------------------


def reportable_category(db: Session, category_id: int) -> Category:
    """A category a resident may report: active, on the published list, not a complaint."""
    category = db.get(Category, category_id)
    if (
        category is None
        or not category.is_active
        or not category.is_published
        or category.is_staff_complaint
        or category.kind == CategoryKind.COMPONENT
    ):
        raise Invalid("choose a category from the list", field="category_id")
    return category


def complaint_category(db: Session) -> Category:
    """The category complaints about grid staff are filed under (监督投诉)."""
    found = staff_complaint_category(db)
    if found is None:
        raise NotFound("complaints about staff are not set up here (no such category)")
    return found


@dataclass(frozen=True)
class Nearby:
    """An open public report near a new one: the resident may join it instead."""

    case: PublicCase
    distance_m: float


def nearby_open(db: Session, category_id: int, lon: float, lat: float) -> list[Nearby]:
    """Open public reports of the same category within the duplicate radius and window.

    Raw reports are not offered: until registered only their reporter sees them.
    """
    found = find_duplicates(db, category_id=category_id, lon=lon, lat=lat, limit=5)
    ids = [d.id for d in found if d.state.is_open]
    if not ids:
        return []
    cases = db.scalars(public_cases().where(Case.id.in_(ids))).all()
    views = {v.number: v for v in public_views(db, cases)}
    return [Nearby(views[d.number], d.distance_m) for d in found if d.number in views]


def is_public(db: Session, case: Case) -> bool:
    """Whether the public may see ``case`` (its photos, its page without a receipt)."""
    return public.is_public(db, case.id)


def is_own(db: Session, case: Case, receipts: Mapping[str, str]) -> bool:
    """Whether ``receipts`` (number → tracking code) hold the valid code of ``case``."""
    return receipt_matches(db, case, receipts.get(case.number, ""))


def views_by_number(db: Session, mine: Sequence[str], followed: Sequence[str]) -> list[PublicCase]:
    """Views of this browser's own reports (``mine``, any state) then of the public cases it
    follows (``followed``; one no longer public drops out), in the given order.

    ``mine`` come from the signed device cookie, which only ever holds checked receipts.
    """
    own = {c.number: c for c in db.scalars(select(Case).where(Case.number.in_(mine)))}
    shown = db.scalars(public_cases().where(Case.number.in_(followed)))
    others = {c.number: c for c in shown}
    cases = [own[n] for n in mine if n in own] + [others[n] for n in followed if n in others]
    return public_views(db, cases)


# --- the public timeline ----------------------------------------------------------------------

# Steps a resident sees, with a public wording. Internal steps (accept, start, extension,
# summons, escalation, attachments) are left out; staff names never appear.
PUBLIC_STEPS: dict[CaseAction, str] = {
    CaseAction.REPORT: N_("Reported"),
    CaseAction.REGISTER: N_("Accepted for handling (registered)"),
    CaseAction.REJECT: N_("Not accepted"),
    CaseAction.DISPATCH: N_("Sent to the responsible department"),
    # A department's return is internal routing: the resident sees the stage, not who sent it
    # back (nor the department it came from).
    CaseAction.RETURN: N_("Being assigned to the responsible department"),
    CaseAction.HANDLE: N_("The department reports it handled"),
    CaseAction.VERIFY_PASS: N_("Checked on site"),
    CaseAction.VERIFY_FAIL: N_("Not yet fixed: sent back for rework"),
    CaseAction.CLOSE: N_("Closed"),
    CaseAction.SELF_HANDLE: N_("Fixed on the spot"),
    CaseAction.EVALUATE: N_("Rated by the reporter"),
    CaseAction.SUSPEND: N_("Kept on file as a long-term matter"),
    CaseAction.RESUME: N_("Handling resumed"),
    CaseAction.VOID: N_("Withdrawn as invalid"),
    CaseAction.MERGE: N_("Merged with a report of the same problem"),
    CaseAction.REOPEN: N_("Reopened"),
    CaseAction.SUPPLEMENT: N_("Information added"),
}
# Notes that are public: outcomes and reasons given to the reporter.
PUBLIC_NOTES = {
    CaseAction.REJECT,
    CaseAction.CLOSE,
    CaseAction.SELF_HANDLE,
    CaseAction.VOID,
    CaseAction.REOPEN,
}


# Steps whose public wording names who did it, by role (a supervisor verifies too).
BY_ROLE: dict[CaseAction, dict[Role, str]] = {
    CaseAction.VERIFY_PASS: {
        Role.GRID_WORKER: N_("Checked on site by the grid worker"),
        Role.GRID_LEADER: N_("Checked on site by the grid leader"),
        Role.SUPERVISOR: N_("Checked on site by the supervisor"),
    },
    CaseAction.VERIFY_FAIL: {
        Role.GRID_WORKER: N_("Not yet fixed (grid worker's check): sent back for rework"),
        Role.GRID_LEADER: N_("Not yet fixed (grid leader's check): sent back for rework"),
        Role.SUPERVISOR: N_("Not yet fixed (supervisor's check): sent back for rework"),
    },
    CaseAction.SELF_HANDLE: {
        Role.GRID_WORKER: N_("Fixed on the spot by the grid worker"),
        Role.GRID_LEADER: N_("Fixed on the spot by the grid leader"),
    },
}


@dataclass(frozen=True)
class Step:
    at: datetime
    action: CaseAction
    text: str
    note: str = ""
    department: Department | None = None  # only where the public sees it: a dispatch
    me_too: bool = False


def _wording(event: CaseEvent, roles: dict[int, Role]) -> str:
    """The public text of a step; by the actor's role when it is one the public may know."""
    role = event.data.get("role") or roles.get(event.actor_id or 0)
    by_role = BY_ROLE.get(event.action, {})
    return (
        by_role.get(Role(role), PUBLIC_STEPS[event.action]) if role else PUBLIC_STEPS[event.action]
    )


def public_timeline(db: Session, case: Case) -> list[Step]:
    """The public steps of a case, oldest first, with masked public notes."""
    events = db.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action.in_(list(PUBLIC_STEPS)))
        .order_by(CaseEvent.at, CaseEvent.id)
    ).all()
    codes = {e.data.get("department") for e in events if e.action == CaseAction.DISPATCH}
    departments = {
        d.code: d for d in db.scalars(select(Department).where(Department.code.in_(codes - {None})))
    }
    # events recorded before the role was kept in their data: the actor's role now
    older = {e.actor_id for e in events if e.action in BY_ROLE and "role" not in e.data}
    ids = [i for i in older if i is not None]
    roles = {
        uid: role for uid, role in db.execute(select(User.id, User.role).where(User.id.in_(ids)))
    }
    return [
        Step(
            at=e.at,
            action=e.action,
            text=_wording(e, roles),
            note=mask_personal(e.note) if e.action in PUBLIC_NOTES else "",
            department=departments.get(e.data.get("department") or "")
            if e.action == CaseAction.DISPATCH
            else None,
            me_too=bool(e.data.get("me_too")),
        )
        for e in events
    ]
