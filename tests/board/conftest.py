"""Board fixtures: the case world of tests/cases plus a private matter, a staff complaint and a
second major class; cases are taken through the real actions."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from civgrid.cases import actions
from civgrid.cases.models import AttachmentKind, Case
from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, CategoryKind
from tests.cases.conftest import World, world  # noqa: F401  (shared fixtures)
from tests.desk.conftest import count_statements  # noqa: F401  (re-exported for the tests)


def jpeg_with_exif() -> bytes:
    """A JPEG carrying EXIF (camera make and a GPS block), as a phone would send it."""
    img = Image.new("RGB", (80, 60), (200, 50, 50))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (23.0, 5.0, 42.0)}  # GPSInfo
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _category(w: World, code: str, major: str, name: str, **flags: bool) -> Category:
    category = Category(
        code=code,
        kind=CategoryKind.SERVICE_ITEM,
        major_code=major,
        major_name_zh="测试大类",
        name_zh=name,
        name_en=f"{name} (en)",
        **flags,
    )
    w.db.add(category)
    w.db.commit()
    return category


@dataclass
class Board:
    world: World
    client: TestClient
    private: Category  # a matter about a person: never on the board
    complaint: Category  # a complaint about staff: never on the board
    other: Category  # a category of another major class (GT2)

    def case(self, *steps: str, now: datetime | None = None, **kw: Any) -> Case:
        """A case reported (at ``now``) and taken through ``steps`` by the right people."""
        case = self.world.report(now=now, **kw) if now else self.world.report(**kw)
        return self.world.drive(case, *steps)

    def listed(self, **kw: Any) -> Case:
        return self.case("register", **kw)

    def closed(self, **kw: Any) -> Case:
        return self.case(
            "register", "dispatch", "accept", "start", "handle", "verify", "close", **kw
        )

    def exif_photo(self, case: Case, kind: AttachmentKind = AttachmentKind.BEFORE) -> int:
        att = actions.attach_photo(
            self.world.db,
            case,
            actor=self.world.worker,
            data=jpeg_with_exif(),
            kind=kind,
            filename="phone.jpg",
        )
        return att.id

    def html(self, query: str = "", status: int = 200) -> str:
        r = self.client.get(f"/board{query}", headers={"Accept": "text/html"})
        assert r.status_code == status, r.text[:2000]
        return r.text

    def geojson(self, query: str = "", status: int = 200) -> Any:
        r = self.client.get(f"/board/cases.geojson{query}")
        assert r.status_code == status, r.text[:2000]
        return r.json()

    def numbers(self, query: str = "") -> list[str]:
        """Case numbers on the board page, in order; and the map's must be the same set."""
        html = self.html(query)
        listed = re.findall(r'class="number" href="/portal/cases/([^"]+)"', html)
        on_map = [f["properties"]["number"] for f in self.geojson(query)["features"]]
        assert sorted(on_map) == sorted(listed)
        return listed


@pytest.fixture
def board(world: World, client: TestClient) -> Board:  # noqa: F811  (the shared fixture)
    other = _category(world, "GT201", "GT2", "占道经营")
    add_routing_rule(
        world.db,
        department_code=world.dept.code,
        major_code="GT2",
        division_prefix="441900101",
        actor=None,
    )
    return Board(
        world=world,
        client=client,
        private=_category(world, "GT104", "GT1", "邻里纠纷", is_private=True),
        complaint=_category(world, "GT105", "GT1", "对网格员的投诉", is_staff_complaint=True),
        other=other,
    )
