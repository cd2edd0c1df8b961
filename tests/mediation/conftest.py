"""Mediation fixtures: a grid in 石碣镇 and the staff of each tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.mediation import actions
from civgrid.mediation.models import Dispute, DisputeKind
from tests.cases import factories

VILLAGE = "441900101002"
ID_CARD = "440101199001011234"


@dataclass
class Med:
    db: Session
    grid_code: str
    worker: User
    other_worker: User
    leader: User
    outside_leader: User
    dispatcher: User
    outside_dispatcher: User
    handler: User

    def create(self, **kw: Any) -> Dispute:
        args: dict[str, Any] = {
            "actor": self.worker,
            "kind": DisputeKind.NEIGHBOUR,
            "summary": f"楼上漏水，张三身份证{ID_CARD}",
            "parties": [actions.Party("张三", "13800001111"), actions.Party("李四", "13800002222")],
            "territory_code": self.grid_code,
        }
        args.update(kw)
        return actions.create_dispute(self.db, **args)


@pytest.fixture
def med(db: Session, make_user) -> Med:  # type: ignore[no-untyped-def]
    _lon, _lat, grid_code = factories.grid(db, VILLAGE)
    dept = factories.department(db, "T-CG", "城管")
    return Med(
        db=db,
        grid_code=grid_code,
        worker=make_user("grid_worker", ("division", VILLAGE)),
        other_worker=make_user("grid_worker", ("division", VILLAGE)),
        leader=make_user("grid_leader", ("division", VILLAGE)),
        outside_leader=make_user("grid_leader", ("division", "441900101003")),
        dispatcher=make_user("dispatcher", ("division", "441900101")),
        outside_dispatcher=make_user("dispatcher", ("division", "441900102")),
        handler=make_user("dept_handler", ("department", dept.code)),
    )
