"""Adding, correcting and retiring ledger records: placed, versioned, audited, never deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.auth import scope
from civgrid.errors import Conflict, Forbidden, Invalid
from civgrid.grids.models import Grid
from civgrid.ledger import actions
from civgrid.ledger.models import Dwelling, FireStatus, LedgerKind, Unit, UnitKind
from civgrid.ledger.service import household_figures, ledger_query, record_history
from tests.ledger.conftest import Place, unit_cells


def test_a_unit_is_placed_in_its_grid_with_history_and_audit(db: Session, place: Place) -> None:
    unit = actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.worker)
    assert (unit.grid_code, unit.kind, unit.fire_status) == (
        place.grid_code,
        UnitKind.RESTAURANT,
        FireStatus.UNCHECKED,
    )
    fixed = actions.correct_record(
        db, LedgerKind.UNITS, unit, {"fire_status": "存在隐患"}, actor=place.worker, version=1
    )
    assert fixed.version == 2
    history = record_history(db, LedgerKind.UNITS, unit.id)
    assert [h.action for h in history] == ["created", "corrected"]
    assert history[1].changes == {"fire_status": ["unchecked", "hazard"]}
    assert history[1].actor_label == place.worker.username
    audited = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "ledger.units")
    ).all()
    assert audited == ["ledger.created", "ledger.corrected"]


def test_a_stale_version_is_refused(db: Session, place: Place) -> None:
    unit = actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.worker)
    actions.correct_record(db, LedgerKind.UNITS, unit, {"name": "新名"}, actor=None, version=1)
    with pytest.raises(Conflict):
        actions.correct_record(db, LedgerKind.UNITS, unit, {"name": "旧"}, actor=None, version=1)


def test_retired_records_leave_lists_and_totals_but_stay(db: Session, place: Place) -> None:
    cells = {"address": "石龙路12号3栋501", "households": "3", "lon": place.lon, "lat": place.lat}
    dwelling = actions.add_record(db, LedgerKind.DWELLINGS, cells, actor=place.worker)
    grid = db.scalar(select(Grid).where(Grid.code == place.grid_code))
    assert grid is not None
    assert household_figures(db, grid).ledger == 3
    with pytest.raises(Invalid):
        actions.retire_record(db, LedgerKind.DWELLINGS, dwelling, actor=place.worker, reason=" ")
    actions.retire_record(db, LedgerKind.DWELLINGS, dwelling, actor=place.worker, reason="拆除")
    figures = household_figures(db, grid)
    assert (figures.ledger, figures.filed, figures.difference) == (
        0,
        grid.households,
        -grid.households,
    )
    assert db.get(Dwelling, dwelling.id) is not None
    listed = db.scalars(ledger_query(LedgerKind.DWELLINGS, place.worker)).all()
    assert listed == []
    with pytest.raises(Conflict):
        actions.correct_record(db, LedgerKind.DWELLINGS, dwelling, {"households": "2"}, actor=None)


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ({"kind": "赌场"}, "kind"),
        ({"licence_expires": "2026-02-30"}, "licence_expires"),
        ({"credit_code": "12345"}, "credit_code"),
        ({"lat": "230.1"}, "lat"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_cells_are_named(db: Session, place: Place, cells: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        actions.add_record(db, LedgerKind.UNITS, unit_cells(place, **cells), actor=place.worker)
    assert caught.value.detail["field"] == field
    assert db.scalar(select(Unit.id)) is None


def test_outside_every_grid_and_outside_the_jurisdiction(db: Session, place: Place) -> None:
    with pytest.raises(Invalid) as caught:
        actions.add_record(db, LedgerKind.UNITS, unit_cells(place, lon=100.0), actor=place.worker)
    assert caught.value.message == actions.OUTSIDE_GRIDS
    with pytest.raises(Forbidden):
        actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.outsider)


def test_a_duplicate_code_is_refused(db: Session, place: Place) -> None:
    actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.worker)
    with pytest.raises(Conflict):
        actions.add_record(db, LedgerKind.UNITS, unit_cells(place), actor=place.worker)


@pytest.mark.parametrize("kind", list(LedgerKind))
def test_four_case_permissions(db: Session, place: Place, kind: LedgerKind) -> None:
    """Anonymous 401, wrong role 403, wrong jurisdiction hidden, right jurisdiction seen."""
    from civgrid.errors import NotFound, Unauthorized
    from civgrid.ledger.models import MODELS

    model = MODELS[kind]
    cells = {
        LedgerKind.ADDRESSES: {"road": "石龙路", "number": "1号"},
        LedgerKind.BUILDINGS: {"address": "石龙路1号", "use": "住宅"},
        LedgerKind.DWELLINGS: {"address": "石龙路1号101", "households": "1"},
        LedgerKind.UNITS: {"name": "店", "kind": "商店"},
        LedgerKind.COMPONENTS: {"class_code": "C01001"},
    }[kind] | {"lon": place.lon, "lat": place.lat}
    row = actions.add_record(db, kind, cells, actor=place.worker)
    with pytest.raises(Unauthorized):
        scope.get_for(db, None, model, row.id)
    resident_role_user = place.handler
    with pytest.raises(Forbidden):
        scope.get_for(db, resident_role_user, model, row.id, "change")
    with pytest.raises(NotFound):
        scope.get_for(db, place.outsider, model, row.id)
    assert scope.get_for(db, place.worker, model, row.id, "change") is row


def test_division_checks_can_use_the_ledger_count(db: Session, place: Place) -> None:
    from civgrid.grids.service import check_stored_village
    from civgrid.ledger.service import ledger_checks
    from tests.ledger.conftest import VILLAGE

    cells = {"address": "石龙路1号", "households": "5", "lon": place.lon, "lat": place.lat}
    actions.add_record(db, LedgerKind.DWELLINGS, cells, actor=None)
    grid = db.scalar(select(Grid).where(Grid.code == place.grid_code))
    assert grid is not None
    grid.households = 400
    db.commit()
    assert place.grid_code not in check_stored_village(db, VILLAGE).out_of_band
    assert place.grid_code in ledger_checks(db, VILLAGE)[VILLAGE].out_of_band
