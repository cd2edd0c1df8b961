"""Queries about inspections: scope, what is due and overdue, follow-ups, counts and rates.

The counts here (inspections done, failure rate, cases opened) are the ledger page's and the
API's; the command figures (``civgrid.figures``, indicators 检查数 …) count the same records
through their own facts, and a test checks that both agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.cases.models import Case
from civgrid.inspections.models import (
    ChecklistTemplate,
    InspectionPlan,
    InspectionRecord,
    InspectionResult,
    ItemResult,
)
from civgrid.ledger.models import MODELS, Dwelling, LedgerKind
from civgrid.ledger.service import ledger_query

INSPECTORS = frozenset({Role.ADMIN, Role.GRID_LEADER, Role.GRID_WORKER, Role.SUPERVISOR})
scope.register(ChecklistTemplate, roles={"view": scope.STAFF, "change": {Role.ADMIN}})


def _plan_overlaps(j: scope.Jurisdiction) -> ColumnElement[bool]:
    """Plans inside the user's territory, and plans for a wider area that contains it (a
    township's plan is the village worker's plan too)."""
    column = InspectionPlan.territory_code
    return or_(
        false(),
        *[column.startswith(code, autoescape=True) for code in j.codes],
        *[literal(code).startswith(column) for code in j.codes],
    )


scope.register(
    InspectionPlan,
    roles={"view": scope.STAFF, "change": {Role.ADMIN, Role.GRID_LEADER}},
    condition=_plan_overlaps,
)
scope.register(
    InspectionRecord,
    roles={"view": scope.STAFF, "change": INSPECTORS},
    condition=scope.by_code_prefix(InspectionRecord.grid_code),
)

SOON_DAYS = 7  # "due" means due within this many days; before today it is "overdue"


@dataclass(frozen=True)
class DueInspection:
    """A place that a plan says is due (or overdue) for a checklist, or a follow-up."""

    plan: InspectionPlan | None
    template_id: int
    kind: LedgerKind
    target: Any
    due_on: date
    overdue: bool
    follow_up_case: str = ""  # the closed case number that makes this a follow-up


def plan_targets(db: Session, plan: InspectionPlan, user: User | None) -> Sequence[Any]:
    """The current ledger records a plan covers (its kind, territory and selector)."""
    kind = plan.template.target_kind
    model = MODELS[kind]
    query = ledger_query(kind, user, territory=plan.territory_code)
    selector = plan.selector
    if selector and kind == LedgerKind.UNITS:
        query = query.where(model.kind == selector)
    elif selector == "rental" and kind == LedgerKind.DWELLINGS:
        query = query.where(Dwelling.is_rental.is_(True))
    elif selector and kind == LedgerKind.COMPONENTS:
        query = query.where(model.class_code.startswith(selector, autoescape=True))
    elif selector and kind == LedgerKind.BUILDINGS:
        query = query.where(model.use == selector)
    return db.scalars(query).all()


def last_inspected(db: Session, template_id: int, kind: LedgerKind) -> dict[int, datetime]:
    """Target id → when it was last inspected with the template."""
    rows = db.execute(
        select(InspectionRecord.target_id, func.max(InspectionRecord.inspected_at))
        .where(InspectionRecord.template_id == template_id, InspectionRecord.target_kind == kind)
        .group_by(InspectionRecord.target_id)
    )
    return {tid: at for tid, at in rows}


def due_inspections(
    db: Session,
    user: User | None,
    *,
    today: date,
    territory: str = "",
    horizon_days: int = SOON_DAYS,
) -> list[DueInspection]:
    """What is due within a week (or ``horizon_days``) or overdue in the user's grids (every
    grid for None, the system), follow-ups first."""
    query = select(InspectionPlan)
    if user is not None:
        query = scope.restrict(query, user, "view")
    plans = [
        p
        for p in db.scalars(
            query.where(InspectionPlan.is_active.is_(True)).order_by(InspectionPlan.id)
        )
        # a plan for the whole village covers a grid of it, and a grid's plan is in its village
        if p.territory_code.startswith(territory) or territory.startswith(p.territory_code)
    ]
    horizon = today + timedelta(days=horizon_days)
    due: list[DueInspection] = list(follow_ups_due(db, user, today=today, territory=territory))
    for plan in plans:
        kind = plan.template.target_kind
        last = last_inspected(db, plan.template_id, kind)
        for target in plan_targets(db, plan, user):
            if not target.grid_code.startswith(territory):
                continue
            seen = last.get(target.id)
            due_on = (seen.date() + timedelta(days=plan.every_days)) if seen else plan.starts_on
            if due_on <= horizon:
                due.append(
                    DueInspection(plan, plan.template_id, kind, target, due_on, due_on < today)
                )
    due.sort(key=lambda d: (not d.follow_up_case, d.due_on, d.target.code))
    return due


def follow_ups_due(
    db: Session, user: User | None, *, today: date, territory: str = ""
) -> list[DueInspection]:
    """Places whose inspection case has closed since, with no inspection after the closing."""
    later = aliased(InspectionRecord)
    query: Any = (  # Select[InspectionRecord, Case]
        select(InspectionRecord, Case)
        .join(InspectionResult, InspectionResult.record_id == InspectionRecord.id)
        .join(Case, Case.id == InspectionResult.case_id)
        .where(Case.closed_at.is_not(None))
        .where(InspectionRecord.grid_code.startswith(territory, autoescape=True))
        .where(
            ~exists().where(
                and_(
                    later.target_kind == InspectionRecord.target_kind,
                    later.target_id == InspectionRecord.target_id,
                    later.template_id == InspectionRecord.template_id,
                    later.inspected_at > Case.closed_at,
                )
            )
        )
        .order_by(Case.closed_at)
    )
    if user is not None:
        query = scope.restrict(query, user, "view", InspectionRecord)
    out: dict[tuple[str, int, int], DueInspection] = {}
    for record, case in db.execute(query):
        target = db.get(MODELS[record.target_kind], record.target_id)
        key = (record.target_kind, record.target_id, record.template_id)
        if target is None or target.retired_at is not None or key in out or not case.closed_at:
            continue
        closed = case.closed_at.date()
        out[key] = DueInspection(
            None,
            record.template_id,
            record.target_kind,
            target,
            closed,
            closed < today,
            case.number,
        )
    return list(out.values())


def records_of(db: Session, kind: LedgerKind, target_id: int) -> Sequence[InspectionRecord]:
    """A place's inspections, newest first."""
    return db.scalars(
        select(InspectionRecord)
        .where(InspectionRecord.target_kind == kind, InspectionRecord.target_id == target_id)
        .order_by(InspectionRecord.inspected_at.desc())
    ).all()


def record_view(db: Session, record: InspectionRecord) -> dict[str, Any]:
    """What the record page shows: the checklist's items with results, photos and case numbers."""
    template = db.get(ChecklistTemplate, record.template_id)
    items = {i.id: i for i in template.items} if template else {}
    case_ids = [r.case_id for r in record.results if r.case_id]
    numbers: dict[int | None, str] = {}
    if case_ids:
        query = select(Case.id, Case.number).where(Case.id.in_(case_ids))
        numbers = {cid: number for cid, number in db.execute(query)}
    photos: dict[int, list[Any]] = {}
    for p in record.photos:
        photos.setdefault(p.item_id, []).append(p)
    return {
        "record": record,
        "template": template,
        "place": db.get(MODELS[record.target_kind], record.target_id),
        "rows": [
            (items.get(r.item_id), r, numbers.get(r.case_id), photos.get(r.item_id, []))
            for r in record.results
        ],
    }


@dataclass(frozen=True)
class InspectionCounts:
    """Inspections in a territory and period: done, failed, failure rate, cases opened."""

    territory: str
    records: int
    failed_records: int
    items: int
    failed_items: int
    cases_opened: int

    @property
    def failure_rate(self) -> float | None:
        """Share of inspections with at least one failed item (None with no inspections)."""
        return self.failed_records / self.records if self.records else None


def _period(territory: str, since: datetime | None, until: datetime | None) -> list[Any]:
    where: list[Any] = [InspectionRecord.grid_code.startswith(territory, autoescape=True)]
    if since is not None:
        where.append(InspectionRecord.inspected_at >= since)
    if until is not None:
        where.append(InspectionRecord.inspected_at < until)
    return where


def counts_by_grid(
    db: Session,
    *,
    territory: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, InspectionCounts]:
    """Grid code → its inspection figures, for every grid with inspections in the period."""
    where = _period(territory, since, until)
    grid = InspectionRecord.grid_code
    records = db.execute(
        select(grid, func.count(), func.count().filter(InspectionRecord.failed > 0))
        .where(*where)
        .group_by(grid)
    ).all()
    items = {
        row[0]: row[1:]
        for row in db.execute(
            select(
                grid,
                func.count(),
                func.count().filter(InspectionResult.result == ItemResult.FAIL),
                func.count(InspectionResult.case_id),
            )
            .join(InspectionResult, InspectionResult.record_id == InspectionRecord.id)
            .where(*where)
            .group_by(grid)
        )
    }
    return {
        code: InspectionCounts(code, n, failed, *items.get(code, (0, 0, 0)))
        for code, n, failed in sorted(records)
    }


def inspection_counts(
    db: Session,
    *,
    territory: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> InspectionCounts:
    """The figures of inspections in a territory (grid or division code) and period."""
    per_grid = counts_by_grid(db, territory=territory, since=since, until=until).values()
    return InspectionCounts(
        territory,
        sum(c.records for c in per_grid),
        sum(c.failed_records for c in per_grid),
        sum(c.items for c in per_grid),
        sum(c.failed_items for c in per_grid),
        sum(c.cases_opened for c in per_grid),
    )
