"""Inspections: templates, plans, what is due, records whose failures open cases, follow-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.cases.models import Case, CaseSource
from civgrid.catalogue.actions import load_catalogue
from civgrid.catalogue.models import Category
from civgrid.errors import Forbidden, Invalid, NotFound, Unauthorized
from civgrid.inspections import actions
from civgrid.inspections.actions import ItemAnswer
from civgrid.inspections.checklists import TEMPLATES
from civgrid.inspections.models import ChecklistTemplate, InspectionRecord, ItemResult
from civgrid.inspections.service import due_inspections, follow_ups_due, inspection_counts
from civgrid.ledger.models import LedgerKind
from tests.inspections.conftest import Site

PASS, FAIL, NA = ItemResult.PASS, ItemResult.FAIL, ItemResult.NOT_APPLICABLE


def answers(site: Site, *results: ItemResult) -> list[ItemAnswer]:
    return [
        ItemAnswer(item.id, r, "灭火器过期" if r == FAIL else "")
        for item, r in zip(site.template.items, results, strict=True)
    ]


def submit(site: Site, *results: ItemResult, key: str = "draft-1", **kw) -> InspectionRecord:  # type: ignore[no-untyped-def]
    return actions.submit_inspection(
        site.world.db,
        template=site.template,
        kind=LedgerKind.UNITS,
        target_id=site.unit.id,
        answers=answers(site, *results),
        actor=site.world.worker,
        client_key=key,
        **kw,
    )


def test_shipped_templates_point_at_real_categories(db: Session) -> None:
    load_catalogue(db)
    assert len(TEMPLATES) >= 6
    assert actions.load_templates(db) == len(TEMPLATES)
    assert actions.load_templates(db) == 0
    codes = {i.category for t in TEMPLATES for i in t.items}
    known = set(db.scalars(select(Category.code).where(Category.code.in_(codes))))
    assert codes == known
    fire = db.scalar(select(ChecklistTemplate).where(ChecklistTemplate.code == "FIRE-3SMALL"))
    assert fire is not None and fire.items[0].text_en and fire.items[0].pass_rule_zh


def test_a_failed_item_opens_a_linked_case(db: Session, site: Site) -> None:
    record = submit(site, PASS, FAIL, NA)
    assert record.failed == 1
    failed = [r for r in record.results if r.result == FAIL]
    case = db.get(Case, failed[0].case_id)
    assert case is not None
    assert (case.source, case.grid_code, case.category_id) == (
        CaseSource.INSPECTION,
        site.world.grid_code,
        site.world.category.id,
    )
    assert "U-1" in case.description and "灭火器过期" in case.description
    assert all(r.case_id is None for r in record.results if r.result != FAIL)


def test_the_same_draft_sent_twice_is_stored_once(db: Session, site: Site) -> None:
    first = submit(site, PASS, FAIL, PASS)
    again = submit(site, PASS, FAIL, PASS)
    assert again.id == first.id
    assert db.scalar(select(Case.id).where(Case.source == CaseSource.INSPECTION).offset(1)) is None


def test_bad_answers_store_nothing(db: Session, site: Site) -> None:
    with pytest.raises(Invalid):
        actions.submit_inspection(
            db,
            template=site.template,
            kind=LedgerKind.UNITS,
            target_id=site.unit.id,
            answers=answers(site, PASS, PASS, PASS)[:2],
            actor=site.world.worker,
            client_key="a",
        )
    with pytest.raises(Invalid):
        actions.submit_inspection(
            db,
            template=site.template,
            kind=LedgerKind.UNITS,
            target_id=site.unit.id,
            answers=[ItemAnswer(a.item_id, a.result, "") for a in answers(site, FAIL, PASS, PASS)],
            actor=site.world.worker,
            client_key="b",
        )
    with pytest.raises(NotFound):
        actions.submit_inspection(
            db,
            template=site.template,
            kind=LedgerKind.UNITS,
            target_id=site.unit.id,
            answers=answers(site, PASS, PASS, PASS),
            actor=site.world.outsider,
            client_key="c",
        )
    assert db.scalar(select(InspectionRecord.id)) is None


def test_plans_make_places_due_then_not_due(db: Session, site: Site) -> None:
    today = date(2026, 12, 7)
    actions.add_plan(
        db,
        template=site.template,
        territory_code=site.world.grid_code,
        every_days=30,
        starts_on=today - timedelta(days=3),
        selector="restaurant",
        actor=site.world.admin,
    )
    due = due_inspections(db, site.world.worker, today=today)
    assert [(d.target.code, d.overdue) for d in due] == [("U-1", True)]
    submit(site, PASS, PASS, PASS, inspected_at=datetime(2026, 12, 6, 2, tzinfo=UTC))
    assert due_inspections(db, site.world.worker, today=today) == []
    assert [d.due_on for d in due_inspections(db, site.world.worker, today=date(2027, 1, 3))] == [
        date(2027, 1, 5)
    ]


def test_a_closed_case_makes_a_follow_up_due(db: Session, site: Site) -> None:
    record = submit(site, FAIL, PASS, PASS, inspected_at=datetime(2026, 12, 1, 2, tzinfo=UTC))
    case = db.get(Case, record.results[0].case_id)
    assert case is not None
    today = datetime.now(UTC).date()
    assert follow_ups_due(db, site.world.worker, today=today) == []
    site.world.drive(case, "register", "dispatch", "accept", "start", "handle", "verify", "close")
    follow = follow_ups_due(db, site.world.worker, today=today)
    assert [(f.target.code, f.follow_up_case) for f in follow] == [("U-1", case.number)]
    submit(site, PASS, PASS, PASS, key="follow-up")
    assert follow_ups_due(db, site.world.worker, today=today) == []


def test_counts_and_failure_rate(db: Session, site: Site) -> None:
    submit(site, FAIL, FAIL, PASS, key="k1")
    submit(site, PASS, PASS, NA, key="k2")
    counts = inspection_counts(db, territory=site.world.grid_code)
    assert (counts.records, counts.failed_records, counts.failed_items, counts.cases_opened) == (
        2,
        1,
        2,
        2,
    )
    assert counts.failure_rate == 0.5
    assert inspection_counts(db, territory="441900102").failure_rate is None


def test_four_case_permissions_for_records(db: Session, site: Site, make_user) -> None:  # type: ignore[no-untyped-def]
    record = submit(site, PASS, PASS, PASS)
    with pytest.raises(Unauthorized):
        scope.get_for(db, None, InspectionRecord, record.id)
    with pytest.raises(Forbidden):
        scope.get_for(db, site.world.handler, InspectionRecord, record.id, "change")
    with pytest.raises(NotFound):
        scope.get_for(db, site.world.outsider, InspectionRecord, record.id)
    assert scope.get_for(db, site.world.worker, InspectionRecord, record.id) is record
