"""Directory fixtures: a grid in 石碣镇 with a leader and staff (work phones), the grid office
routed for complaints about staff (G17001), and a case with a resident's contact."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.auth.actions import create_user
from civgrid.auth.models import Role, ScopeKind, User
from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, CategoryKind
from civgrid.departments.models import Department
from civgrid.grids.actions import set_grid_members
from civgrid.grids.models import Grid
from tests.cases import factories
from tests.conftest import PASSWORD

VILLAGE = "441900101002"


def staff(db: Session, username: str, role: Role, name: str, phone: str | None) -> User:
    return create_user(
        db,
        username=username,
        password=PASSWORD,
        role=role,
        display_name=name,
        scopes=[(ScopeKind.DIVISION, VILLAGE)],
        work_phone=phone,
        actor=None,
    )


@dataclass
class Directory:
    db: Session
    client: TestClient
    grid: Grid
    lon: float
    lat: float
    leader: User
    worker: User
    office: Department

    def html(self, url: str, status: int = 200) -> str:
        r = self.client.get(url, headers={"Accept": "text/html"})
        assert r.status_code == status, r.text[:2000]
        return r.text


@pytest.fixture
def directory(db: Session, client: TestClient) -> Directory:
    lon, lat, code = factories.grid(db, VILLAGE)
    grid = db.query(Grid).filter_by(code=code).one()
    leader = staff(db, "leader_huang", Role.GRID_LEADER, "黄伟", "0769-88881006")
    worker = staff(db, "worker_zhang", Role.GRID_WORKER, "张丽", "0769-88881007")
    grid.leader_id = leader.id
    db.commit()
    set_grid_members(db, grid, user_ids=[worker.id], actor=None)
    office = Department(
        code="T-WG",
        name_zh="石碣镇网格化服务管理中心",
        name_en="Township grid office",
        division_code="441900101",
        duty_phone="0769-88889007",
    )
    db.add(office)
    db.add(
        Category(
            code="G17001",
            kind=CategoryKind.SERVICE_ITEM,
            major_code="G17",
            major_name_zh="监督投诉",
            name_zh="对网格员的投诉",
            is_staff_complaint=True,
            is_private=True,
        )
    )
    db.commit()
    add_routing_rule(
        db, department_code="T-WG", major_code="G17", division_prefix="441900101", actor=None
    )
    return Directory(db, client, grid, lon, lat, leader, worker, office)
