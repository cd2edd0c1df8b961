"""Every change to the care programme: enrol (only with consent), visit, report a need, withdraw.

Audit events name ids and states only: a person's data never reaches an append-only table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.care.models import (
    CareCase,
    CareConsent,
    CareDocument,
    CareEnrolment,
    CareGroup,
    CarePerson,
    CareVisit,
    Consenter,
    EnrolmentState,
    VisitOutcome,
)
from civgrid.care.service import local_today
from civgrid.cases.actions import NewCase, plan_report, write_report
from civgrid.cases.models import Case, CaseSource
from civgrid.catalogue.service import get_category, suggest_department
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Invalid, NotFound
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid

CONSENT_FORM_VERSION = "2026-1"
MAX_DOCUMENT = 5 * 1024 * 1024
DOCUMENT_TYPES = {
    b"%PDF": "application/pdf",
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
REMOVED = "（关爱对象已退出，个人信息已删除）"


def text(value: str | None, field: str, *, limit: int, required: bool = True) -> str:
    """``value`` stripped; 422 naming the field when it is missing or too long."""
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{field} is required", field=field)
    if len(value) > limit:
        raise Invalid(f"{field} is longer than {limit} characters", field=field)
    return value


@dataclass(frozen=True)
class Consent:
    """What the person (or a guardian) agreed to, on which form, on which day."""

    consenter: Consenter
    given_on: date
    data_kept: str
    services: str
    who_may_see: str
    guardian_name: str = ""

    def checked(self) -> Consent:
        consenter = Consenter(self.consenter)
        guardian = text(
            self.guardian_name, "guardian_name", limit=50, required=consenter == Consenter.GUARDIAN
        )
        if self.given_on > local_today():
            raise Invalid("consent cannot be dated in the future", field="given_on")
        return Consent(
            consenter,
            self.given_on,
            text(self.data_kept, "data_kept", limit=300),
            text(self.services, "services", limit=300),
            text(self.who_may_see, "who_may_see", limit=300),
            guardian if consenter == Consenter.GUARDIAN else "",
        )


@dataclass(frozen=True)
class Person:
    """The minimum personal data: a name, an address, a contact, the needs."""

    name: str
    address: str
    contact: str = ""
    needs: str = ""

    def checked(self) -> Person:
        return Person(
            text(self.name, "name", limit=50),
            text(self.address, "address", limit=200),
            text(self.contact, "contact", limit=60, required=False),
            text(self.needs, "needs", limit=2000, required=False),
        )


def _grid(db: Session, grid_code: str) -> Grid:
    grid = db.scalar(select(Grid).where(Grid.code == grid_code, Grid.valid_to.is_(None)))
    if grid is None:
        raise Invalid(f"grid {grid_code} does not exist", field="grid")
    return grid


def _require_covers(user: User, code: str) -> None:
    if not scope.Jurisdiction.of(user).covers_code(code):
        raise NotFound(f"grid {code} not found")


def enrol(
    db: Session,
    *,
    actor: User,
    group: CareGroup,
    grid_code: str,
    person: Person,
    consent: Consent | None,
    worker: User | None = None,
    volunteer: User | None = None,
    visit_every_days: int = 30,
) -> CareEnrolment:
    """Enrol a person in the care programme: refused without recorded consent."""
    scope.check_role(actor, CareEnrolment, "enrol")
    if consent is None:
        raise Invalid(
            "no consent recorded: a person is enrolled only with consent", field="consent"
        )
    consent, person = consent.checked(), person.checked()
    if not 1 <= visit_every_days <= 366:
        raise Invalid("visit frequency must be 1–366 days", field="visit_every_days")
    grid = _grid(db, grid_code)
    _require_covers(actor, grid.code)
    worker = worker or actor
    _require_covers(worker, grid.code)
    group = CareGroup(group)
    department = suggest_department(db, get_category(db, group.category_code), grid.village_code)
    now = utcnow()
    enrolment = CareEnrolment(
        state=EnrolmentState.ACTIVE,
        group=group,
        territory_code=grid.code,
        department_code=department.code if department else None,
        worker_id=worker.id,
        volunteer_id=volunteer.id if volunteer else None,
        visit_every_days=visit_every_days,
        next_visit_on=local_today() + timedelta(days=visit_every_days),
        enrolled_at=now,
    )
    db.add(enrolment)
    db.flush()
    db.add(CarePerson(enrolment_id=enrolment.id, **person.__dict__))
    db.add(
        CareConsent(
            enrolment_id=enrolment.id,
            form_version=CONSENT_FORM_VERSION,
            recorded_by_id=actor.id,
            recorded_at=now,
            **consent.__dict__,
        )
    )
    record(
        db,
        "care.enrol",
        actor=actor,
        object_type="care_enrolment",
        object_id=enrolment.id,
        detail={"group": group.value, "territory": grid.code},
    )
    db.commit()
    return enrolment


def _active(enrolment: CareEnrolment) -> None:
    if enrolment.state != EnrolmentState.ACTIVE:
        raise Conflict(
            f"enrolment {enrolment.id} is {enrolment.state.value}", state=str(enrolment.state)
        )


def _locked(db: Session, actor: User, enrolment_id: int, action: str) -> CareEnrolment:
    """The enrolment, checked for ``actor`` and locked for this transaction."""
    enrolment = scope.get_for(db, actor, CareEnrolment, enrolment_id, action)
    db.refresh(enrolment, with_for_update=True)
    return enrolment


def record_visit(
    db: Session,
    enrolment_id: int,
    *,
    actor: User,
    visited_on: date,
    outcome: VisitOutcome,
    note: str = "",
    needs_found: str = "",
) -> CareVisit:
    """Record a home visit; a need found is reported as a case (source = care).

    The need's report is checked in full (``plan_report``) before anything is written, so a
    need that cannot become a case leaves no visit behind either.
    """
    note = text(note, "note", limit=2000, required=False)
    needs_found = text(needs_found, "needs_found", limit=2000, required=False)
    outcome = VisitOutcome(outcome)
    if visited_on > local_today():
        raise Invalid("a visit cannot be in the future", field="visited_on")
    enrolment = scope.get_for(db, actor, CareEnrolment, enrolment_id, "visit")
    _active(enrolment)
    planned = _plan_need(db, enrolment, actor, needs_found) if needs_found else None
    case = write_report(db, planned).case if planned else None  # intake commits the case
    enrolment = _locked(db, actor, enrolment_id, "visit")
    visit = CareVisit(
        enrolment_id=enrolment.id,
        visited_on=visited_on,
        worker_id=actor.id,
        outcome=outcome,
        note=note,
        needs_found=needs_found,
    )
    db.add(visit)
    enrolment.visits += 1
    enrolment.next_visit_on = visited_on + timedelta(days=enrolment.visit_every_days)
    db.flush()
    detail: dict[str, object] = {"visit": visit.id, "outcome": outcome.value}
    if case is not None:
        db.add(CareCase(enrolment_id=enrolment.id, case_id=case.id))
        detail["case"] = case.number
    record(
        db,
        "care.visit",
        actor=actor,
        object_type="care_enrolment",
        object_id=enrolment.id,
        detail=detail,
    )
    db.commit()
    return visit


def _plan_need(db: Session, enrolment: CareEnrolment, actor: User, need: str) -> NewCase:
    """The intake's checks and plan for a need (writes nothing).

    The case is placed at the grid's representative point, not at the home, and carries
    the need without the address: the category is private, so it is never published.
    """
    grid = _grid(db, enrolment.territory_code)
    point = from_text(grid.geometry).representative_point()
    return plan_report(
        db,
        source=CaseSource.CARE,
        category=get_category(db, enrolment.group.category_code),
        lon=point.x,
        lat=point.y,
        description=need,
        actor=actor,
    )


def report_need(db: Session, enrolment_id: int, *, actor: User, need: str) -> Case:
    """A need found becomes a case through the normal intake, linked to the enrolment."""
    need = text(need, "need", limit=2000)
    enrolment = scope.get_for(db, actor, CareEnrolment, enrolment_id, "visit")
    _active(enrolment)
    case = write_report(db, _plan_need(db, enrolment, actor, need)).case
    db.add(CareCase(enrolment_id=enrolment.id, case_id=case.id))
    record(
        db,
        "care.need",
        actor=actor,
        object_type="care_enrolment",
        object_id=enrolment.id,
        detail={"case": case.number},
    )
    db.commit()
    return case


def attach_consent_copy(
    db: Session, enrolment_id: int, *, actor: User, filename: str, content: bytes
) -> CareDocument:
    """Attach the signed consent form (PDF, PNG or JPEG, at most 5 MB)."""
    enrolment = scope.get_for(db, actor, CareEnrolment, enrolment_id, "enrol")
    _active(enrolment)
    content_type = document_type(content)
    doc = CareDocument(
        enrolment_id=enrolment.id,
        filename=text(filename, "filename", limit=200, required=False) or "consent",
        content_type=content_type,
        content=content,
        uploaded_by_id=actor.id,
    )
    db.add(doc)
    db.flush()
    record(
        db,
        "care.consent_copy",
        actor=actor,
        object_type="care_enrolment",
        object_id=enrolment.id,
        detail={"document": doc.id},
    )
    db.commit()
    return doc


def document_type(content: bytes) -> str:
    """The type of an uploaded signed copy, by its first bytes; 422 for anything else."""
    if not content:
        raise Invalid("the file is empty", field="file")
    if len(content) > MAX_DOCUMENT:
        raise Invalid(f"the file is larger than {MAX_DOCUMENT // (1024 * 1024)} MB", field="file")
    for magic, kind in DOCUMENT_TYPES.items():
        if content.startswith(magic):
            return kind
    raise Invalid("a signed copy must be a PDF, PNG or JPEG file", field="file")


def withdraw(db: Session, enrolment_id: int, *, actor: User) -> CareEnrolment:
    """Withdrawal (退出): the person's data goes at once; the anonymous row and counts stay.

    Deleted: the person, the consent record, signed copies, visit notes and needs, and the
    text of the cases their needs became (the cases stay, anonymous, for the figures).
    """
    enrolment = _locked(db, actor, enrolment_id, "withdraw")
    if enrolment.state == EnrolmentState.WITHDRAWN:
        raise Conflict(f"enrolment {enrolment.id} has already been withdrawn", state="withdrawn")
    eid = enrolment.id
    db.execute(delete(CarePerson).where(CarePerson.enrolment_id == eid))
    db.execute(delete(CareConsent).where(CareConsent.enrolment_id == eid))
    db.execute(delete(CareDocument).where(CareDocument.enrolment_id == eid))
    db.execute(
        update(CareVisit).where(CareVisit.enrolment_id == eid).values(note="", needs_found="")
    )
    linked = select(CareCase.case_id).where(CareCase.enrolment_id == eid)
    for case in db.scalars(select(Case).where(Case.id.in_(linked))):
        case.description, case.address = REMOVED, ""
        case.outcome_note = REMOVED if case.outcome_note else ""
    enrolment.state = EnrolmentState.WITHDRAWN
    enrolment.withdrawn_at = utcnow()
    enrolment.next_visit_on = None
    record(db, "care.withdraw", actor=actor, object_type="care_enrolment", object_id=eid)
    db.commit()
    db.expire_all()
    return enrolment
