"""Ledger fixtures: one grid in 城中社区 (石碣镇) and staff inside and outside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from tests.cases import factories

VILLAGE = "441900101002"
OTHER_TOWN = "441900102"


@dataclass
class Place:
    lon: float
    lat: float
    grid_code: str
    worker: User
    outsider: User
    admin: User
    handler: User


@pytest.fixture
def place(db: Session, make_user: Any) -> Place:
    lon, lat, code = factories.grid(db, VILLAGE)
    return Place(
        lon=lon,
        lat=lat,
        grid_code=code,
        worker=make_user("grid_worker", ("grid", code)),
        outsider=make_user("grid_worker", ("division", OTHER_TOWN)),
        admin=make_user("admin", ("all", "")),
        handler=make_user("dept_handler", ("division", "441900101")),
    )


def unit_cells(place: Place, **kw: Any) -> dict[str, Any]:
    cells = {
        "code": "U-0001",
        "name": "石碣好味餐馆",
        "kind": "餐饮店",
        "address": "石龙路12号",
        "licence_expires": "2027-06-30",
        "contact_title": "店长",
        "work_phone": "0769-86000000",
        "lon": place.lon,
        "lat": place.lat,
    }
    cells.update(kw)
    return cells
