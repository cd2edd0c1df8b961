"""Case fixtures: a grid in 石碣镇, categories with time limits and routing, staff, photos."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases import actions
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.departments.models import Department
from tests.cases import factories

VILLAGE = "441900101002"


def png_bytes(
    colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class World:
    db: Session
    lon: float
    lat: float
    grid_code: str
    village: str
    category: Any
    major: Any
    unlisted: Any
    dept: Department
    dept2: Department
    dispatcher: User
    handler: User
    other_handler: User
    worker: User
    admin: User
    outsider: User
    steps: dict[str, Any] = field(default_factory=dict)

    def report(self, **kw: Any) -> Case:
        return self.reported(**kw).case

    def reported(self, **kw: Any) -> actions.Reported:
        """``report_case`` by the grid worker at the world's point, unless ``kw`` says otherwise."""
        args: dict[str, Any] = {
            "source": CaseSource.PATROL,
            "category": self.category,
            "lon": self.lon,
            "lat": self.lat,
            "description": "垃圾堆放 / rubbish dumped",
            "actor": self.worker,
        }
        args.update(kw)
        return actions.report_case(self.db, **args)

    def photo(self, case: Case, actor: User | None = None, kind: str = "after") -> int:
        att = actions.attach_photo(
            self.db,
            case,
            actor=actor or self.handler,
            data=png_bytes(),
            kind=AttachmentKind(kind),
            filename="p.png",
        )
        return att.id

    def drive(self, case: Case, *steps: str) -> Case:
        """Take a case through the named steps with the right person for each."""
        db = self.db
        for step in steps:
            if step == "register":
                actions.register_case(db, case, actor=self.dispatcher)
            elif step == "dispatch":
                actions.dispatch_case(db, case, actor=self.dispatcher)
            elif step == "accept":
                actions.accept_case(db, case, actor=self.handler)
            elif step == "start":
                actions.start_case(db, case, actor=self.handler)
            elif step == "handle":
                photo = self.photo(case)
                actions.handle_case(
                    db, case, actor=self.handler, feedback="done", attachment_ids=[photo]
                )
            elif step == "verify":
                actions.verify_case(db, case, actor=self.worker, passed=True)
            elif step == "close":
                actions.close_case(db, case, actor=self.dispatcher, outcome="fixed")
            else:  # pragma: no cover
                raise ValueError(step)
        return case


@pytest.fixture
def world(db: Session, make_user) -> World:  # type: ignore[no-untyped-def]
    lon, lat, grid_code = factories.grid(db, VILLAGE)
    dept = factories.department(db, "T-CG", "城管")
    dept2 = factories.department(db, "T-HW", "环卫")
    category, major, unlisted = factories.categories(db, dept)
    return World(
        db=db,
        lon=lon,
        lat=lat,
        grid_code=grid_code,
        village=VILLAGE,
        category=category,
        major=major,
        unlisted=unlisted,
        dept=dept,
        dept2=dept2,
        dispatcher=make_user("dispatcher", ("division", "441900101")),
        handler=make_user("dept_handler", ("department", dept.code)),
        other_handler=make_user("dept_handler", ("department", dept2.code)),
        worker=make_user("grid_worker", ("division", VILLAGE)),
        admin=make_user("admin", ("all", "")),
        outsider=make_user("dispatcher", ("division", "441900102")),
    )
