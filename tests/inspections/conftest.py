"""Inspection fixtures: the case world (grid, categories, staff), a unit and a checklist."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from civgrid.calendar.units import TimeUnit
from civgrid.inspections.models import ChecklistItem, ChecklistTemplate
from civgrid.ledger import actions as ledger
from civgrid.ledger.models import LedgerKind, Unit
from tests.cases.conftest import World, world  # noqa: F401  (the fixture, reused)


@dataclass
class Site:
    world: World
    unit: Unit
    template: ChecklistTemplate


@pytest.fixture
def site(db: Session, world: World) -> Site:  # noqa: F811
    unit = ledger.add_record(
        db,
        LedgerKind.UNITS,
        {"code": "U-1", "name": "好味餐馆", "kind": "餐饮店", "lon": world.lon, "lat": world.lat},
        actor=world.worker,
    )
    template = ChecklistTemplate(
        code="T-FIRE", name_zh="消防检查", service_item="G02", target_kind=LedgerKind.UNITS
    )
    template.items = [
        ChecklistItem(
            position=i,
            text_zh=text,
            category_code=world.category.code,
            limit_amount=3,
            limit_unit=TimeUnit.WORK_DAYS,
        )
        for i, text in enumerate(["灭火器", "疏散通道", "电线"], start=1)
    ]
    db.add(template)
    db.commit()
    return Site(world, unit, template)
