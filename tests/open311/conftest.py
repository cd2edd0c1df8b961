"""Open311 fixtures: a grid in 石碣镇, a manhole-cover service with seeded attributes, a client."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET  # noqa: S405  (our own responses)
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.models import Case, CaseAttachment
from civgrid.catalogue.models import Category, CategoryKind
from civgrid.config import get_settings
from civgrid.open311 import actions
from tests.cases import factories

VILLAGE = "441900101002"
BASE = "/open311/v2"

# The spec's field lists (wiki.open311.org/GeoReport_v2), per response.
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
DEFINITION_FIELDS = {"service_code", "attributes"}
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
}
VALUE_FIELDS = {"key", "name"}
POST_FIELDS = {"service_request_id", "token", "service_notice", "account_id"}
TOKEN_FIELDS = {"service_request_id", "token"}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
ERROR_FIELDS = {"code", "description"}
DISCOVERY_FIELDS = {"changeset", "contact", "key_service", "endpoints"}
ENDPOINT_FIELDS = {"specification", "url", "changeset", "type", "formats"}


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_with_exif() -> bytes:
    """A JPEG carrying EXIF (camera make and a GPS block), as a phone would send it."""
    img = Image.new("RGB", (80, 60), (200, 50, 50))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (23.0, 5.0, 42.0)}  # GPSInfo
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def xml_of(text: bytes | str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314  (our own server's answer)


def children(element: ET.Element) -> set[str]:
    return {child.tag for child in element}


@dataclass
class Open311World:
    db: Session
    client: TestClient
    lon: float
    lat: float
    cover: Category  # M01001: the seeded required attribute
    plain: Category  # no attributes
    api_key: str
    make_user: Any = None

    def publish(self, sid: str) -> Case:
        """Register (立案) the request: only a registered case is public."""
        from civgrid.cases import actions as case_actions

        case = self.db.scalars(select(Case).where(Case.number == sid)).one()
        dispatcher = self.make_user("dispatcher", ("division", "441900101"))
        return case_actions.register_case(self.db, case, actor=dispatcher)

    def post(self, fmt: str = "json", files: Any = None, **fields: Any) -> Any:
        data: dict[str, Any] = {
            "api_key": self.api_key,
            "service_code": self.plain.code,
            "lat": str(self.lat),
            "long": str(self.lon),
            "description": "Rubbish dumped by the gate",
        }
        data.update({k: v for k, v in fields.items() if v is not None})
        for key in [k for k, v in fields.items() if v is None]:
            data.pop(key, None)
        return self.client.post(f"{BASE}/requests.{fmt}", data=data, files=files)

    def stored(self) -> tuple[int, int, int]:
        """(cases, attachments, files under the attachment store): what a bad POST must not add."""
        cases = self.db.scalar(select(func.count()).select_from(Case)) or 0
        atts = self.db.scalar(select(func.count()).select_from(CaseAttachment)) or 0
        root: Path = get_settings().attachments_path
        files = sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
        return cases, atts, files


@pytest.fixture
def o311(db: Session, client: TestClient, make_user: Any) -> Open311World:
    lon, lat, _grid = factories.grid(db, VILLAGE)
    dept = factories.department(db, "T-SZ", "市政")
    cover = Category(
        code="M01001",
        kind=CategoryKind.MATTER,
        major_code="M01",
        major_name_zh="市政公用设施类",
        major_name_en="Municipal utilities",
        name_zh="供水井盖异常",
        name_en="Water supply manhole cover defect",
        keywords="井盖 manhole",
    )
    plain = Category(
        code="GT201",
        kind=CategoryKind.SERVICE_ITEM,
        major_code="GT2",
        major_name_zh="测试大类",
        name_zh="乱堆乱放",
        name_en="Rubbish dumped",
    )
    complaint = Category(
        code="G17001",
        kind=CategoryKind.SERVICE_ITEM,
        major_code="G17",
        major_name_zh="监督投诉",
        name_zh="网格员服务投诉",
        is_staff_complaint=True,
    )
    db.add_all([cover, plain, complaint])
    db.commit()
    from civgrid.catalogue.actions import add_routing_rule

    for major in ("M01", "GT2"):
        add_routing_rule(
            db, department_code=dept.code, major_code=major, division_prefix="441900101", actor=None
        )
    _client, key = actions.issue_client(db, name="Test 311 app", actor=None)
    return Open311World(db, client, lon, lat, cover, plain, key, make_user)
