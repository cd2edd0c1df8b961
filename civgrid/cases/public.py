"""What the public may see of a case: the one place shared by the portal, the board and Open311.

Nothing personal leaves through here: no reporter identity or contact, and phone numbers,
ID-card numbers and e-mail addresses written into free text are masked. Photos shown outside
staff are the EXIF-free renditions made by :mod:`civgrid.cases.attachments`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from civgrid.cases.models import (
    PUBLIC_HIDDEN,
    AttachmentKind,
    Case,
    CaseAttachment,
    publishable_state,
)
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category
from civgrid.departments.models import Department
from civgrid.errors import Invalid, NotFound

T = TypeVar("T")

MAX_PUBLIC_DESCRIPTION = 4000

# 18-digit resident ID (last character may be X) and the old 15-digit form.
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})\d{8}\d{3}[0-9Xx](?![0-9A-Za-z])|(?<!\d)\d{15}(?!\d)"
)
# Mainland mobile numbers (1[3-9]x, optionally +86 and separators) and landlines (0xx-xxxxxxx).
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[ -]?(\d{7,8})(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_MAYBE_PERSONAL = re.compile(r"[0-9@]")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


def _mask_id(m: re.Match[str]) -> str:
    if m.group(1):
        return m.group(1) + "*" * 12
    return "*" * 15


def mask_personal(text: str) -> str:
    """``text`` with ID-card numbers, phone numbers and e-mail addresses masked.

    >>> mask_personal("电话13812345678，身份证440101199001011234，邮箱 a.b@example.com")
    '电话138****5678，身份证440101************，邮箱 ***@***'
    """
    text = text or ""
    if not _MAYBE_PERSONAL.search(text):  # most text: no digit, no @ (one scan)
        return text
    text = _EMAIL.sub("***@***", text)
    text = _ID_CARD.sub(_mask_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)


def has_html(text: str) -> bool:
    """True if ``text`` holds an HTML tag or entity (public descriptions are plain text)."""
    return bool(_HTML.search(text or ""))


def check_public_description(text: str | None) -> str:
    """A resident's or outside system's description, stripped; :class:`Invalid` if unusable."""
    text = (text or "").strip()
    if not text:
        raise Invalid("description is required", field="description")
    if len(text) > MAX_PUBLIC_DESCRIPTION:
        raise Invalid(
            f"description is {len(text)} characters; at most {MAX_PUBLIC_DESCRIPTION} allowed",
            field="description",
        )
    if has_html(text):
        raise Invalid("description must be plain text, without HTML", field="description")
    return text


def public_status(state: CaseState) -> str:
    """``open`` or ``closed``: the status the board and Open311 show."""
    return "open" if state.is_open else "closed"


# --- which cases and photos the public sees ---------------------------------------------------

# The public sees a case once the command center registered it (立案): a raw report may still
# be abuse, and rejected, voided or merged reports are not outcomes. Until then only the
# reporter sees it, by the tracking code of the receipt (:func:`civgrid.portal.service`).
HIDDEN_STATES = tuple(sorted(PUBLIC_HIDDEN))


def publicly_visible() -> ColumnElement[bool]:
    """The one public-visibility rule, as a condition on ``Case`` joined to its ``Category``.

    Public means: registered or later, not rejected, voided or merged, and not a staff
    complaint or a private matter. The board, the portal, Open311 and their photos all use it.
    """
    return and_(
        publishable_state(),  # literal, as the public list's partial index states it
        Category.is_staff_complaint.is_(False),
        Category.is_private.is_(False),
    )


def public_cases() -> Select[Case]:
    """Cases the public may see (board, portal, Open311, photos), under :func:`publicly_visible`."""
    return select(Case).join(Category, Category.id == Case.category_id).where(publicly_visible())


def is_public(db: Session, case_id: int) -> bool:
    """Whether the public may see the case ``case_id`` (its page, its photos)."""
    found = db.scalar(public_cases().where(Case.id == case_id).with_only_columns(Case.id))
    return found is not None


def get_public_case(db: Session, number: str) -> Case:
    """One case the public may see, by number (404 for missing and non-public cases alike)."""
    case = db.scalar(public_cases().where(Case.number == number))
    if case is None:
        raise NotFound(f"case {number} not found")
    return case


def public_attachment(
    db: Session, attachment_id: int, *, own: Callable[[Case], bool] | None = None
) -> CaseAttachment:
    """A photo of a publicly visible case, or of a case ``own`` says is the caller's report.

    Only its EXIF-free renditions are ever served; hidden and missing photos are both 404.
    """
    att = db.get(CaseAttachment, attachment_id)
    visible = att is not None and is_public(db, att.case_id)
    if att is not None and not visible and own is not None:
        case = db.get(Case, att.case_id)
        visible = case is not None and own(case)
    if att is None or not visible:
        raise NotFound(f"photo {attachment_id} not found")
    return att


@dataclass(frozen=True)
class PublicCase:
    """A case as residents see it: masked text, no reporter, EXIF-free photo ids."""

    number: str
    state: CaseState
    category: Category
    grid_code: str | None
    division_code: str
    lon: float
    lat: float
    description: str
    outcome: str
    department: Department | None
    reported_at: datetime
    closed_at: datetime | None
    rating: int | None
    before: list[int] = field(default_factory=list)  # attachment ids, oldest first
    after: list[int] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)  # taken by whoever verified on site

    @property
    def status(self) -> str:
        return public_status(self.state)


def public_views(db: Session, cases: Sequence[Case]) -> list[PublicCase]:
    """The public view of ``cases``, in order: three queries whatever their number."""
    ids = [c.id for c in cases]
    categories = {c.id: c for c in _load(db, Category, Category.id, {c.category_id for c in cases})}
    depts = {c.department_code for c in cases if c.department_code}
    departments = {d.code: d for d in _load(db, Department, Department.code, depts)}
    photos: dict[tuple[int, AttachmentKind], list[int]] = {}
    if ids:
        rows = db.execute(
            select(CaseAttachment.case_id, CaseAttachment.kind, CaseAttachment.id)
            .where(CaseAttachment.case_id.in_(ids))
            .order_by(CaseAttachment.id)
        )
        for case_id, kind, att_id in rows:
            photos.setdefault((case_id, kind), []).append(att_id)
    return [
        PublicCase(
            number=c.number,
            state=c.state,
            category=categories[c.category_id],
            grid_code=c.grid_code,
            division_code=c.division_code,
            lon=c.lon,
            lat=c.lat,
            description=mask_personal(c.description),
            outcome=mask_personal(c.outcome_note),
            department=departments.get(c.department_code or ""),
            reported_at=c.reported_at,
            closed_at=c.closed_at,
            rating=c.rating,
            before=photos.get((c.id, AttachmentKind.BEFORE), []),
            after=photos.get((c.id, AttachmentKind.AFTER), []),
            verified=photos.get((c.id, AttachmentKind.VERIFY), []),
        )
        for c in cases
    ]


def _load(db: Session, model: type[T], key: Any, values: set[Any]) -> Sequence[T]:
    if not values:
        return []
    return db.scalars(select(model).where(key.in_(values))).all()
