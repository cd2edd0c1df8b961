"""Portal fixtures: the case world, a private matter, the staff-complaint category routed to a
grid office, and an anonymous browser-like client that reads the CSRF token from the page."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.models import Case
from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, CategoryKind
from civgrid.departments.models import Department
from tests.cases import factories
from tests.cases.conftest import World, png_bytes, world  # noqa: F401  (shared fixtures)

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
RECEIPT = re.compile(r'id="receipt-key">([^<]+)<')


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF carries a GPS position (what must never reach the public)."""
    img = Image.new("RGB", (80, 60), (20, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (23.0, 5.0, 42.0), "E", (113.0, 48.0, 18.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@dataclass
class Portal:
    world: World
    private: Category  # a dispute between neighbours: handled, never published
    complaint: Category
    office: Department

    def count(self) -> int:
        return int(self.world.db.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
def portal(world: World) -> Portal:  # noqa: F811
    db: Session = world.db
    office = factories.department(db, "T-WG", "网格化服务管理中心")
    private = Category(
        code="GT201",
        kind=CategoryKind.SERVICE_ITEM,
        major_code="GT2",
        major_name_zh="矛盾纠纷",
        name_zh="邻里纠纷",
        is_private=True,
    )
    complaint = Category(
        code="GT301",
        kind=CategoryKind.SERVICE_ITEM,
        major_code="GT3",
        major_name_zh="监督投诉",
        name_zh="对网格员的投诉",
        is_staff_complaint=True,
        is_private=True,
    )
    db.add_all([private, complaint])
    db.commit()
    for major, dept in (("GT2", world.dept.code), ("GT3", office.code)):
        add_routing_rule(
            db, department_code=dept, major_code=major, division_prefix="441900101", actor=None
        )
    return Portal(world, private, complaint, office)


class Resident:
    """An anonymous browser: a TestClient with its own cookies, and the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def csrf(self, path: str = "/portal") -> str:
        found = CSRF_META.search(self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def post(self, path: str, data: dict[str, Any], files: Any = None) -> Any:
        body = {"csrf_token": self.csrf(), **data}
        return self.client.post(path, data=body, files=files, follow_redirects=False)

    def report(self, portal: Portal, files: Any = None, **fields: Any) -> Any:
        w = portal.world
        data = {
            "category_id": str(w.category.id),
            "lon": str(w.lon),
            "lat": str(w.lat),
            "description": "路边垃圾堆放三天了",
            **fields,
        }
        return self.post("/portal/report", data, files)

    def receipt(self, response: Any) -> tuple[str, str]:
        """(number, code) from a successful submission's redirect and the page it leads to."""
        assert response.status_code == 303, response.text
        number = response.headers["location"].rsplit("/", 1)[1]
        page = self.client.get(response.headers["location"])
        found = RECEIPT.search(page.text)
        assert found is not None
        return number, found.group(1)


@pytest.fixture
def resident(app) -> Any:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield Resident(c)


@pytest.fixture
def other_resident(app) -> Any:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield Resident(c)


__all__ = ["Portal", "Resident", "jpeg_with_gps", "png_bytes"]
