"""The demo ledger agrees with the demo geometry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from civgrid.cases.models import Case, CaseSource
from civgrid.grids.models import Grid
from civgrid.inspections.models import InspectionRecord, InspectionResult
from civgrid.ledger.models import Component, Unit
from civgrid.ledger.service import ledger_households


def test_dwellings_add_up_to_every_grid_and_failures_became_cases(demo_site: Any) -> None:
    with demo_site.sessions() as db:
        grids = db.scalars(select(Grid).where(Grid.valid_to.is_(None))).all()
        ledger = ledger_households(db)
        assert grids
        assert {g.code: g.households for g in grids} == {
            g.code: ledger.get(g.code, 0) for g in grids
        }
        assert 250 <= db.scalar(select(func.count(Unit.id))) <= 350
        assert 1800 <= db.scalar(select(func.count(Component.id))) <= 2200
        assert db.scalar(select(func.count(InspectionRecord.id))) > 100
        linked = db.scalars(
            select(InspectionResult.case_id).where(InspectionResult.case_id.is_not(None))
        ).all()
        assert linked
        sources = set(db.scalars(select(Case.source).where(Case.id.in_(linked))))
        assert sources == {CaseSource.INSPECTION}
