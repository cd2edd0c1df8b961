"""Portal state changes: a resident's report or complaint, added information, joining, rating.

Each goes through the case engine's action functions (``civgrid.cases.actions``) with no
actor: the portal itself has checked the receipt key, so the engine is told it is trusted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shapely.geometry import shape
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civgrid.cases import actions
from civgrid.cases.actions import Contact
from civgrid.cases.attachments import CheckedImage, add_photos
from civgrid.cases.engine import acting
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.cases.public import check_public_description, get_public_case, has_html
from civgrid.cases.service import locate
from civgrid.catalogue.models import Category
from civgrid.db.base import utcnow
from civgrid.errors import Invalid, NotFound
from civgrid.grids.models import Grid
from civgrid.portal import service
from civgrid.portal.models import ReporterReceipt, SubmissionMark

MAX_PHOTOS = 3
# Marks older than the longest window are of no use and are deleted (data minimisation).
MARK_RETENTION_DAYS = 1


@dataclass(frozen=True)
class Receipt:
    """What the resident takes away: the case number and the tracking code (shown once)."""

    number: str
    key: str


def _check_photos(images: Sequence[CheckedImage]) -> None:
    if len(images) > MAX_PHOTOS:
        raise Invalid(f"at most {MAX_PHOTOS} photos per report", field="photos")


def submit_report(
    db: Session,
    *,
    category_id: int,
    lon: float,
    lat: float,
    description: str,
    contact: Contact,
    images: Sequence[CheckedImage] = (),
    address: str = "",
    ip: str = "",
) -> Receipt:
    """A resident reports a problem (居民上报) without an account; everything is checked first."""
    category = service.reportable_category(db, category_id)
    return _take_in(db, category, lon, lat, description, contact, images, address, ip)


def submit_complaint(
    db: Session, *, grid_code: str, description: str, contact: Contact, ip: str = ""
) -> Receipt:
    """A complaint about a grid's staff (监督投诉): routed to the grid office, never to them."""
    grid = db.scalar(select(Grid).where(Grid.code == grid_code, Grid.valid_to.is_(None)))
    if grid is None:
        raise Invalid("choose the grid whose staff the complaint is about", field="grid")
    point = shape(json.loads(grid.geometry)).representative_point()
    category = service.complaint_category(db)
    return _take_in(db, category, point.x, point.y, description, contact, (), "", ip)


def _take_in(
    db: Session,
    category: Category,
    lon: float,
    lat: float,
    description: str,
    contact: Contact,
    images: Sequence[CheckedImage],
    address: str,
    ip: str,
) -> Receipt:
    now = utcnow()
    description = check_public_description(description)
    if has_html(address):
        raise Invalid("the address must be plain text", field="address")
    contact = contact.validated()
    _check_photos(images)
    locate(db, lon, lat)  # 422 outside the service area, before anything is written
    service.check_rate(db, ip, contact, now)
    db.rollback()  # end the read transaction: the intake runs in its own
    case = actions.report_case(
        db,
        source=CaseSource.PORTAL,
        category=category,
        lon=lon,
        lat=lat,
        description=description,
        contact=contact,
        address=address,
        now=now,
    ).case
    key = service.new_key()
    with acting(db, case, None, "attach", trusted=True) as step:
        db.add(ReporterReceipt(case_id=case.id, key_hash=service.hash_key(key), created_at=now))
        _mark(db, ip, contact, now)
        add_photos(step, images, kind=AttachmentKind.BEFORE)
    return Receipt(case.number, key)


def _mark(db: Session, ip: str, contact: Contact, now: datetime) -> None:
    cutoff = now - timedelta(days=MARK_RETENTION_DAYS)
    db.execute(delete(SubmissionMark).where(SubmissionMark.at < cutoff))
    for key, _limit, _window in service.buckets_for(ip, contact):
        db.add(SubmissionMark(bucket=key, at=now))


def add_information(
    db: Session, case: Case, *, key: str, note: str, images: Sequence[CheckedImage] = ()
) -> Case:
    """The reporter adds information or photos to an open report (checked by the receipt)."""
    if not service.receipt_matches(db, case, key):
        raise NotFound(f"case {case.number} not found")
    _check_photos(images)
    if has_html(note):
        raise Invalid("write plain text, without HTML", field="note")
    return actions.supplement_case(db, case, actor=None, note=note, images=images, trusted=True)


def join_report(db: Session, number: str, *, note: str = "") -> Case:
    """Another resident has the same problem (我也遇到): recorded on the public case."""
    case = get_public_case(db, number)
    if has_html(note):
        raise Invalid("write plain text, without HTML", field="note")
    return actions.supplement_case(db, case, actor=None, note=note, me_too=True, trusted=True)


def rate_report(db: Session, case: Case, *, key: str, rating: int, comment: str = "") -> Case:
    """The reporter rates (评价) the closed case, 1 to 5, with an optional comment."""
    if not service.receipt_matches(db, case, key):
        raise NotFound(f"case {case.number} not found")
    if has_html(comment):
        raise Invalid("write plain text, without HTML", field="comment")
    return actions.evaluate_case(db, case, actor=None, rating=rating, comment=comment, trusted=True)
