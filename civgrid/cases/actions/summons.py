"""Joint summons (吹哨报到): several departments called to one case, each must acknowledge."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.cases import notify
from civgrid.cases.engine import acting
from civgrid.cases.models import Case, CaseSummons
from civgrid.cases.transitions import CaseAction
from civgrid.catalogue.models import Category, Stage
from civgrid.catalogue.service import time_limit_for
from civgrid.departments.models import Department
from civgrid.errors import Conflict, Invalid, NotFound


def summon_departments(
    db: Session, case: Case, *, actor: User, departments: Sequence[str], note: str = ""
) -> list[CaseSummons]:
    """Blow the whistle (吹哨): summon departments, each to acknowledge within its limit."""
    codes = list(dict.fromkeys(d.strip() for d in departments if d.strip()))
    if not codes:
        raise Invalid("summon at least one department", field="departments")
    found = set(db.scalars(select(Department.code).where(Department.code.in_(codes))))
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise Invalid("unknown departments", departments=unknown)
    created: list[CaseSummons] = []
    with acting(db, case, actor, "dispatch", CaseAction.SUMMON) as step:
        already = set(
            db.scalars(select(CaseSummons.department_code).where(CaseSummons.case_id == case.id))
        )
        new = [c for c in codes if c not in already]
        if not new:
            raise Conflict("every one of these departments is already summoned to this case")
        category = db.get(Category, case.category_id)
        assert category is not None  # noqa: S101  (foreign key)
        amount, unit = time_limit_for(db, category, Stage.ACKNOWLEDGE)
        due = get_calendar(db).deadline(step.now, amount, unit)
        for code in new:
            row = CaseSummons(
                case_id=case.id,
                department_code=code,
                summoned_by_id=actor.id,
                summoned_at=step.now,
                due_at=due,
                unit=unit,
                note=note,
            )
            db.add(row)
            created.append(row)
            notify.queue(
                db,
                case,
                "summons",
                recipient_kind="department",
                recipient_ref=code,
                message=f"吹哨报到：案件 {case.number}，请于 {due:%Y-%m-%d %H:%M} UTC 前报到",
                urgent=True,
            )
        step.move(CaseAction.SUMMON, note=note, data={"departments": new, "due": due.isoformat()})
    return created


def acknowledge_summons(
    db: Session, summons: CaseSummons, *, actor: User, note: str = ""
) -> CaseSummons:
    """A summoned department reports in (报到)."""
    case = db.get(Case, summons.case_id)
    if case is None:  # pragma: no cover  (foreign key)
        raise NotFound("case not found")
    with acting(db, case, actor, "acknowledge", CaseAction.ACKNOWLEDGE) as step:
        db.refresh(summons, with_for_update=True)
        j = scope.Jurisdiction.of(actor)
        if not j.everywhere and summons.department_code not in j.departments:
            raise NotFound(f"summons {summons.id} not found")
        if summons.acknowledged_at is not None:
            raise Conflict(f"department {summons.department_code} has already acknowledged")
        summons.acknowledged_at, summons.acknowledged_by_id = step.now, actor.id
        step.move(
            CaseAction.ACKNOWLEDGE,
            note=note,
            data={
                "department": summons.department_code,
                "late": step.now > summons.due_at,
            },
        )
    return summons
