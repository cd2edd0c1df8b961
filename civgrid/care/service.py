"""Care queries, and who may see a care record (the scope rule lives here, next to the models).

Only three kinds of staff see a household: its assigned grid worker (or paired volunteer),
the grid leader of its territory, and the civil-affairs (or health) department responsible
for it. Every read of a person's data goes through :func:`person_for`, which logs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import log_personal_data_read
from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.care.models import (
    CareCase,
    CareConsent,
    CareDocument,
    CareEnrolment,
    CarePerson,
    CareVisit,
    EnrolmentState,
)
from civgrid.cases.models import Case
from civgrid.cases.transitions import CaseState
from civgrid.config import get_settings
from civgrid.errors import NotFound

VIEW_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.DEPT_HANDLER})
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER})
# The yearly goal: one to two practical problems solved for each household.
YEARLY_GOAL = (1, 2)
SOLVED = (CaseState.CLOSED, CaseState.EVALUATED)


def local_today() -> date:
    """Today's date in the deployment's time zone."""
    return datetime.now(get_settings().tz).date()


def _care_condition(j: scope.Jurisdiction) -> ColumnElement[bool]:
    """The assigned worker or volunteer; the territory's grid leader; the responsible department."""
    if j.role == Role.GRID_WORKER:
        return or_(CareEnrolment.worker_id == j.user_id, CareEnrolment.volunteer_id == j.user_id)
    if j.role == Role.GRID_LEADER:
        return scope.by_code_prefix(CareEnrolment.territory_code)(j)
    if j.role == Role.DEPT_HANDLER:
        return scope.by_department(CareEnrolment.department_code)(j)
    return false()


scope.register(
    CareEnrolment,
    roles={
        "view": VIEW_ROLES,
        "enrol": FIELD_ROLES,
        "visit": FIELD_ROLES,
        "withdraw": VIEW_ROLES,
    },
    condition=_care_condition,
)


def get_enrolment_for(
    db: Session, user: User | None, enrolment_id: int, action: str = "view"
) -> CareEnrolment:
    """One enrolment the user may ``action``, or 401/403/404."""
    return scope.get_for(db, user, CareEnrolment, enrolment_id, action)


def person_for(db: Session, user: User, enrolment: CareEnrolment, *, purpose: str) -> CarePerson:
    """The person's data of an enrolment the user may see; the read is logged (PIPL)."""
    person = db.get(CarePerson, enrolment.id)
    if person is None:
        raise NotFound(f"enrolment {enrolment.id} has no personal data (withdrawn)")
    log_personal_data_read(
        db,
        actor=user,
        subject_type="care_enrolment",
        subject_ids=[enrolment.id],
        fields=["name", "address", "contact", "needs"],
        purpose=purpose,
    )
    db.commit()
    return person


@dataclass(frozen=True)
class ScheduleRow:
    """A line of the visit schedule: only what the visit needs (no contact, no needs)."""

    enrolment: CareEnrolment
    name: str
    address: str
    solved_this_year: int

    @property
    def overdue(self) -> bool:
        due = self.enrolment.next_visit_on
        return due is not None and due < local_today()


def schedule(db: Session, user: User, *, limit: int = 200) -> list[ScheduleRow]:
    """Active enrolments the user may see, next visit first; the names shown are logged."""
    query = (
        select(CareEnrolment, CarePerson.name, CarePerson.address)
        .join(CarePerson, CarePerson.enrolment_id == CareEnrolment.id)
        .where(CareEnrolment.state == EnrolmentState.ACTIVE)
        .order_by(CareEnrolment.next_visit_on, CareEnrolment.id)
        .limit(limit)
    )
    restricted = scope.restrict(cast("Select[Any]", query), user, "view", CareEnrolment)
    rows: Sequence[Any] = db.execute(restricted).all()
    solved = solved_counts(db, [r[0].id for r in rows], year=local_today().year)
    if rows:
        log_personal_data_read(
            db,
            actor=user,
            subject_type="care_enrolment",
            subject_ids=[r[0].id for r in rows],
            fields=["name", "address"],
            purpose="visit schedule",
        )
        db.commit()
    return [ScheduleRow(e, name, address, solved.get(e.id, 0)) for e, name, address in rows]


def solved_counts(db: Session, enrolment_ids: Sequence[int], *, year: int) -> dict[int, int]:
    """Practical problems solved (care cases closed) per enrolment in ``year``."""
    if not enrolment_ids:
        return {}
    tz = get_settings().tz
    start, end = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    query = (
        select(CareCase.enrolment_id, func.count())
        .join(Case, Case.id == CareCase.case_id)
        .where(
            CareCase.enrolment_id.in_(enrolment_ids),
            Case.state.in_(SOLVED),
            and_(Case.closed_at >= start, Case.closed_at < end),
        )
        .group_by(CareCase.enrolment_id)
    )
    return {eid: n for eid, n in db.execute(query).all()}


def consent_of(db: Session, enrolment: CareEnrolment) -> CareConsent | None:
    return db.scalar(select(CareConsent).where(CareConsent.enrolment_id == enrolment.id))


def visits_of(db: Session, enrolment: CareEnrolment) -> Sequence[CareVisit]:
    query = select(CareVisit).where(CareVisit.enrolment_id == enrolment.id)
    return db.scalars(query.order_by(CareVisit.visited_on.desc(), CareVisit.id.desc())).all()


def cases_of(db: Session, enrolment: CareEnrolment) -> Sequence[Case]:
    query = select(Case).join(CareCase, CareCase.case_id == Case.id)
    return db.scalars(query.where(CareCase.enrolment_id == enrolment.id).order_by(Case.id)).all()


def documents_of(db: Session, enrolment: CareEnrolment) -> Sequence[CareDocument]:
    query = select(CareDocument).where(CareDocument.enrolment_id == enrolment.id)
    return db.scalars(query.order_by(CareDocument.id)).all()


@dataclass(frozen=True)
class Counts:
    """Anonymous programme figures for an area: these stay after withdrawals."""

    by_group: dict[str, int]
    active: int
    withdrawn: int
    visits: int
    goal_met: int


def counts(db: Session, user: User) -> Counts:
    """Anonymous counts of the enrolments the user may see (no personal data)."""
    query = scope.restrict(select(CareEnrolment), user, "view", CareEnrolment)
    enrolments = db.scalars(query).all()
    active = [e for e in enrolments if e.state == EnrolmentState.ACTIVE]
    solved = solved_counts(db, [e.id for e in active], year=local_today().year)
    by_group: dict[str, int] = {}
    for e in active:
        by_group[e.group.value] = by_group.get(e.group.value, 0) + 1
    return Counts(
        by_group=by_group,
        active=len(active),
        withdrawn=len(enrolments) - len(active),
        visits=sum(e.visits for e in enrolments),
        goal_met=sum(1 for e in active if solved.get(e.id, 0) >= YEARLY_GOAL[0]),
    )
