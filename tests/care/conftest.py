"""Care fixtures: a grid in 石碣镇, the care matters routed to a civil-affairs office, staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.care import actions
from civgrid.care.models import CareEnrolment, CareGroup, Consenter
from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, CategoryKind
from tests.cases import factories

VILLAGE = "441900101002"
NAME, CONTACT, ADDRESS = "测试老人王秀英", "13912345678", "石碣镇测试路88号"


@dataclass
class Care:
    db: Session
    grid_code: str
    worker: User
    other_worker: User
    leader: User
    outside_leader: User
    civil_affairs: User
    other_dept: User
    dispatcher: User

    def consent(self, **kw: Any) -> actions.Consent:
        args: dict[str, Any] = {
            "consenter": Consenter.PERSON,
            "given_on": date(2026, 1, 5),
            "data_kept": "姓名、住址、联系电话、服务需求",
            "services": "定期探访、结对帮扶",
            "who_may_see": "网格员、网格长、镇民政办",
        }
        args.update(kw)
        return actions.Consent(**args)

    def enrol(self, **kw: Any) -> CareEnrolment:
        args: dict[str, Any] = {
            "actor": self.worker,
            "group": CareGroup.ELDERLY_ALONE,
            "grid_code": self.grid_code,
            "person": actions.Person(NAME, ADDRESS, CONTACT, "行动不便，需要助餐"),
            "consent": self.consent(),
        }
        args.update(kw)
        return actions.enrol(self.db, **args)


def care_categories(db: Session, department_code: str) -> None:
    for code, major, name in (
        ("G06001", "G06", "困难群众救助需求"),
        ("G06002", "G06", "独居老人服务需求"),
        ("G06003", "G06", "残疾人服务需求"),
        ("G05002", "G05", "健康服务需求"),
    ):
        db.add(
            Category(
                code=code,
                kind=CategoryKind.SERVICE_ITEM,
                major_code=major,
                major_name_zh="民政服务",
                name_zh=name,
                is_private=True,
            )
        )
    db.commit()
    for major in ("G05", "G06"):
        add_routing_rule(
            db,
            department_code=department_code,
            major_code=major,
            division_prefix="441900101",
            actor=None,
        )


@pytest.fixture
def care(db: Session, make_user) -> Care:  # type: ignore[no-untyped-def]
    _lon, _lat, grid_code = factories.grid(db, VILLAGE)
    mz = factories.department(db, "T-MZ", "民政办")
    other = factories.department(db, "T-CG", "城管")
    care_categories(db, mz.code)
    return Care(
        db=db,
        grid_code=grid_code,
        worker=make_user("grid_worker", ("division", VILLAGE)),
        other_worker=make_user("grid_worker", ("division", VILLAGE)),
        leader=make_user("grid_leader", ("division", VILLAGE)),
        outside_leader=make_user("grid_leader", ("division", "441900101003")),
        civil_affairs=make_user("dept_handler", ("department", mz.code)),
        other_dept=make_user("dept_handler", ("department", other.code)),
        dispatcher=make_user("dispatcher", ("division", "441900101")),
    )
