"""Enrolment needs consent; visits; needs become cases; withdrawal deletes personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import String, Text, func, inspect, select, text
from sqlalchemy.orm import Session

from civgrid.care import actions, service
from civgrid.care.models import (
    CareCase,
    CareConsent,
    CareEnrolment,
    CareGroup,
    CarePerson,
    Consenter,
    EnrolmentState,
    VisitOutcome,
)
from civgrid.care.service import local_today
from civgrid.cases.models import Case, CaseSource
from civgrid.db.base import Base
from civgrid.errors import Conflict, Forbidden, Invalid, NotFound
from tests.care.conftest import ADDRESS, CONTACT, NAME, Care


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_enrolment_without_consent_is_refused_and_nothing_is_stored(care: Care) -> None:
    with pytest.raises(Invalid, match="consent"):
        care.enrol(consent=None)
    assert _count(care.db, CareEnrolment) == 0
    assert _count(care.db, CarePerson) == 0


def test_guardian_consent_needs_the_guardian_and_future_dates_are_refused(care: Care) -> None:
    with pytest.raises(Invalid, match="guardian_name"):
        care.enrol(consent=care.consent(consenter=Consenter.GUARDIAN))
    with pytest.raises(Invalid, match="future"):
        care.enrol(consent=care.consent(given_on=local_today() + timedelta(days=3)))
    with pytest.raises(Invalid, match="name"):
        care.enrol(person=actions.Person("  ", ADDRESS))
    assert _count(care.db, CareEnrolment) == 0


def test_enrolment_records_consent_and_routes_to_civil_affairs(care: Care) -> None:
    e = care.enrol(consent=care.consent(consenter=Consenter.GUARDIAN, guardian_name="王大明"))
    assert e.state == EnrolmentState.ACTIVE
    assert e.department_code == "T-MZ"
    assert e.worker_id == care.worker.id
    consent = service.consent_of(care.db, e)
    assert consent is not None
    assert consent.consenter == Consenter.GUARDIAN
    assert consent.form_version == actions.CONSENT_FORM_VERSION


def test_only_field_roles_in_the_grid_enrol(care: Care) -> None:
    with pytest.raises(Forbidden):
        care.enrol(actor=care.dispatcher)
    with pytest.raises(NotFound):
        care.enrol(actor=care.outside_leader)


def test_a_visit_with_a_need_reports_a_private_care_case(care: Care) -> None:
    e = care.enrol()
    actions.record_visit(
        care.db,
        e.id,
        actor=care.worker,
        visited_on=local_today(),
        outcome=VisitOutcome.MET,
        note="精神不错",
        needs_found="卫生间扶手松动，需要维修",
    )
    cases = service.cases_of(care.db, e)
    assert len(cases) == 1
    assert cases[0].source == CaseSource.CARE
    assert cases[0].address == ""
    assert e.visits == 1
    assert e.next_visit_on == local_today() + timedelta(days=30)


def test_visits_are_refused_for_the_unassigned_worker_and_in_the_future(care: Care) -> None:
    e = care.enrol()
    with pytest.raises(NotFound):
        actions.record_visit(
            care.db, e.id, actor=care.other_worker, visited_on=local_today(), outcome="met"
        )
    with pytest.raises(Invalid, match="future"):
        actions.record_visit(
            care.db,
            e.id,
            actor=care.worker,
            visited_on=local_today() + timedelta(days=1),
            outcome=VisitOutcome.MET,
        )


def test_the_yearly_goal_counts_closed_care_cases(care: Care) -> None:
    e = care.enrol()
    case = actions.report_need(care.db, e.id, actor=care.worker, need="需要助餐服务")
    assert service.solved_counts(care.db, [e.id], year=local_today().year) == {}
    case.state, case.closed_at = "closed", case.reported_at
    care.db.commit()
    assert service.solved_counts(care.db, [e.id], year=local_today().year) == {e.id: 1}
    assert service.counts(care.db, care.leader).goal_met == 1


def test_reads_of_a_person_are_logged(care: Care) -> None:
    e = care.enrol()
    person = service.person_for(care.db, care.leader, e, purpose="test")
    assert person.name == NAME
    logged = care.db.execute(
        text("SELECT count(*) FROM audit_events WHERE action = 'personal_data.read'")
    ).scalar()
    assert logged == 1


def _text_columns() -> list[tuple[str, str]]:
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text) or column.name in ("detail", "data")
    ]


def test_withdrawal_leaves_no_personal_data_in_any_table(care: Care) -> None:
    db = care.db
    e = care.enrol(consent=care.consent(consenter=Consenter.GUARDIAN, guardian_name="王大明"))
    actions.attach_consent_copy(
        db, e.id, actor=care.worker, filename=f"{NAME}.pdf", content=b"%PDF-1.4 " + NAME.encode()
    )
    actions.record_visit(
        db,
        e.id,
        actor=care.worker,
        visited_on=local_today(),
        outcome=VisitOutcome.MET,
        note=f"{NAME}身体好，电话{CONTACT}",
        needs_found=f"{NAME}家门锁坏了，地址{ADDRESS}",
    )
    service.person_for(db, care.civil_affairs, e, purpose="test")
    service.schedule(db, care.leader)

    actions.withdraw(db, e.id, actor=care.worker)

    secrets = (NAME, CONTACT, ADDRESS, "王大明")
    assert set(inspect(db.get_bind()).get_table_names()) >= {"care_persons", "audit_events"}
    for table, column in _text_columns():
        for secret in secrets:
            found = db.execute(
                text(f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE :s'),  # noqa: S608
                {"s": f"%{secret}%"},
            ).scalar()
            assert found == 0, f"{secret} left in {table}.{column}"
    for table in ("care_documents",):
        assert db.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0  # noqa: S608
    assert db.get(CareEnrolment, e.id).state == EnrolmentState.WITHDRAWN
    assert _count(db, CareCase) == 1  # the anonymous link stays, the counts with it
    assert service.counts(db, care.leader).withdrawn == 1
    assert db.get(Case, db.scalar(select(CareCase.case_id))).description == actions.REMOVED


def test_withdrawing_twice_is_a_clear_conflict(care: Care) -> None:
    e = care.enrol()
    actions.withdraw(care.db, e.id, actor=care.leader)
    with pytest.raises(Conflict, match="already"):
        actions.withdraw(care.db, e.id, actor=care.leader)
    assert _count(care.db, CareConsent) == 0


def test_signed_copies_must_be_documents(care: Care) -> None:
    e = care.enrol()
    with pytest.raises(Invalid, match="PDF"):
        actions.attach_consent_copy(
            care.db, e.id, actor=care.worker, filename="x.exe", content=b"MZ\x90"
        )
    assert CareGroup.ELDERLY_ALONE.category_code == "G06002"


def test_the_pair_up_volunteer_sees_the_household_and_may_visit(care: Care) -> None:
    e = care.enrol(volunteer=care.other_worker, visit_every_days=7)
    assert service.get_enrolment_for(care.db, care.other_worker, e.id).id == e.id
    actions.record_visit(
        care.db, e.id, actor=care.other_worker, visited_on=local_today(), outcome="by_phone"
    )
    assert e.next_visit_on == local_today() + timedelta(days=7)
    with pytest.raises(Invalid, match="frequency"):
        care.enrol(visit_every_days=0)


def test_a_need_that_cannot_become_a_case_leaves_no_visit(care: Care, db: Session) -> None:
    from civgrid.catalogue.models import Category

    e = care.enrol()
    category = db.scalar(select(Category).where(Category.code == "G06002"))
    category.code = "G06002-gone"  # the matter is no longer in the catalogue
    db.commit()
    with pytest.raises(NotFound):
        actions.record_visit(
            db, e.id, actor=care.worker, visited_on=local_today(), outcome="met", needs_found="漏水"
        )
    assert service.visits_of(db, e) == []
    assert db.get(CareEnrolment, e.id).visits == 0
