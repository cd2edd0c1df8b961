"""Idempotency keys on Open311 POST requests: by header or form field, per client.

The served case, two requests at the same moment, is in tests/cases/test_idempotency.py.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.models import Case
from tests.open311.conftest import Open311World


def _cases(db: Session, description: str) -> int:
    query = select(func.count()).select_from(Case).where(Case.description == description)
    return db.scalar(query) or 0


def test_a_retried_open311_request_gets_the_first_answer(o311: Open311World) -> None:
    by_header = o311.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": o311.api_key,
            "service_code": o311.plain.code,
            "lat": str(o311.lat),
            "long": str(o311.lon),
            "description": "header key",
        },
        headers={"Idempotency-Key": "o-1"},
    )
    again = o311.post(description="header key", idempotency_key="o-1")  # the form field
    assert (by_header.status_code, again.status_code) == (200, 200)
    assert again.json() == by_header.json()
    xml_again = o311.post(fmt="xml", description="header key", idempotency_key="o-1")
    assert by_header.json()[0]["token"] in xml_again.text
    assert _cases(o311.db, "header key") == 1
    assert o311.post(description="header key", idempotency_key="o-2").status_code == 200
    assert _cases(o311.db, "header key") == 2
