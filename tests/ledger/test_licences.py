"""Units hold several licences: the units sheet's licence columns are the main one, others are
added on the unit page or by the API; what expires within 30 days is listed per grid."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.ledger import actions
from civgrid.ledger.models import LedgerChange, LedgerKind, LicenceKind, UnitLicence
from civgrid.ledger.routes import local_today
from tests.db.test_migrations import scratch_url  # noqa: F401  (the fixture)
from tests.ledger.conftest import Place, unit_cells
from tests.ledger.test_routes import login


def soon(days: int) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


def test_the_sheets_licence_is_the_main_one_and_others_are_added(db: Session, place: Place) -> None:
    unit = actions.add_record(
        db,
        LedgerKind.UNITS,
        unit_cells(place, licence_no="JY1", licence_expires=soon(10)),
        actor=place.worker,
    )
    assert unit.licence_no == "JY1" and unit.licence_expires == local_today() + timedelta(days=10)
    food = actions.add_licence(
        db, unit, kind=LicenceKind.FOOD, number="F-9", issuer="市监局", actor=place.worker
    )
    assert not food.is_main and [lic.number for lic in unit.current_licences] == ["JY1", "F-9"]
    renewed = actions.add_licence(
        db,
        unit,
        kind=LicenceKind.FOOD,
        number="F-9",
        issuer="市监局",
        expires_on=date(2030, 1, 1),
        actor=place.worker,
    )
    assert renewed.id == food.id and renewed.expires_on == date(2030, 1, 1)
    actions.correct_record(db, LedgerKind.UNITS, unit, {"licence_no": "JY2"}, actor=place.worker)
    assert unit.licence_no == "JY2" and len(unit.current_licences) == 2
    actions.retire_licence(db, unit, food.id, actor=place.worker)
    assert [lic.number for lic in unit.current_licences] == ["JY2"]
    actions_seen = db.scalars(
        select(LedgerChange.action)
        .where(LedgerChange.record_id == unit.id)
        .order_by(LedgerChange.id)
    ).all()
    assert actions_seen == [
        "created",
        "licence added",
        "licence renewed",
        "corrected",
        "licence retired",
    ]


def test_licence_api_page_and_the_expiring_list(
    db: Session, client: TestClient, place: Place, bearer: Any
) -> None:
    unit = actions.add_record(
        db,
        LedgerKind.UNITS,
        unit_cells(place, licence_no="JY1", licence_expires=soon(5)),
        actor=None,
    )
    other = actions.add_record(
        db,
        LedgerKind.UNITS,
        unit_cells(place, code="U-2", name="远期", licence_no="X", licence_expires=soon(90)),
        actor=None,
    )
    url = f"/api/v1/ledger/units/{unit.id}/licences"
    body = {"kind": "fire", "number": "XF-1", "issuer": "消防大队", "expires_on": soon(-1)}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=bearer(place.handler)).status_code == 403
    assert client.post(url, json=body, headers=bearer(place.outsider)).status_code == 404
    assert (
        client.post(
            url, json={**body, "expires_on": "2027-02-30"}, headers=bearer(place.worker)
        ).status_code
        == 422
    )
    r = client.post(url, json=body, headers=bearer(place.worker))
    assert r.status_code == 201, r.text
    assert [x["number"] for x in client.get(url, headers=bearer(place.worker)).json()] == [
        "JY1",
        "XF-1",
    ]
    expiring = client.get(
        f"/api/v1/licences/expiring?territory={place.grid_code}", headers=bearer(place.worker)
    ).json()
    assert [(x["number"], x["unit_code"]) for x in expiring] == [
        ("XF-1", "U-0001"),
        ("JY1", "U-0001"),
    ]
    assert other.code not in {x["unit_code"] for x in expiring}
    assert client.get("/api/v1/licences/expiring", headers=bearer(place.outsider)).json() == []
    login(client, place.worker)
    page = client.get(f"/licences/expiring?territory={place.grid_code}")
    assert page.status_code == 200 and "XF-1" in page.text and "远期" not in page.text
    detail = client.get(f"/ledger/units/{unit.id}")
    assert "消防大队" in detail.text and 'id="h-licences"' in detail.text
    token = detail.text.split('name="csrf-token" content="')[1].split('"')[0]
    form = {"csrf_token": token, "kind": "health", "number": "", "issuer": ""}
    bad = client.post(f"/ledger/units/{unit.id}/licences", data=form)
    assert bad.status_code == 422
    form["number"] = "WS-7"
    ok = client.post(f"/ledger/units/{unit.id}/licences", data=form, follow_redirects=False)
    assert ok.status_code == 303
    assert (
        db.scalar(select(UnitLicence.kind).where(UnitLicence.number == "WS-7"))
        == LicenceKind.HEALTH
    )


def test_the_single_licence_moves_into_the_table(scratch_url: str) -> None:  # noqa: F811
    from sqlalchemy import text

    from civgrid.db.migrate import downgrade, upgrade
    from civgrid.db.session import make_engine

    upgrade(scratch_url, "0020_hotline")
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_units (id, code, lon, lat, grid_code, village_code, version,"
                " created_at, updated_at, name, credit_code, kind, address, licence_no,"
                " licence_expires, fire_status, contact_title, work_phone) VALUES"
                " (1, 'U-1', 113.8, 23.1, 'g', 'v', 1, '2026-01-01 00:00:00+00:00',"
                " '2026-01-01 00:00:00+00:00', 'n', '', 'shop', '', 'JY9', '2027-06-30',"
                " 'unchecked', '', ''), (2, 'U-2', 113.8, 23.1, 'g', 'v', 1,"
                " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'n2', '', 'shop',"
                " '', '', NULL, 'unchecked', '', '')"
            )
        )
    engine.dispose()
    upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT unit_id, kind, number, expires_on, is_main FROM unit_licences")
        ).all()
    engine.dispose()
    assert [(r[0], r[1], r[2], str(r[3]), bool(r[4])) for r in rows] == [
        (1, "general", "JY9", "2027-06-30", True)
    ]
    downgrade(scratch_url, "0020_hotline")
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        back = conn.execute(text("SELECT licence_no FROM ledger_units ORDER BY id")).scalars().all()
    engine.dispose()
    assert back == ["JY9", ""]
