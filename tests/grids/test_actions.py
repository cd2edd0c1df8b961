"""Grid actions: creation, codes, adjustments filed as versions, retirement, units, overlays."""

from __future__ import annotations

import pytest
from shapely import Polygon
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from civgrid.config import get_settings
from civgrid.errors import Conflict, Invalid, NotFound
from civgrid.grids.actions import (
    GridDraft,
    adjust_grid,
    create_grid,
    create_neighbourhood_unit,
    renumber_village,
    retire_grid,
    set_grid_members,
)
from civgrid.grids.models import Grid, GridKind, GridVersion, OverlayCoverage, VersionReason
from civgrid.grids.overlays import import_overlay_layer
from civgrid.grids.service import grid_history
from tests.grids.conftest import VILLAGE, sq


def test_codes_are_village_plus_sequence(two_grids: list[Grid]) -> None:
    assert [g.code for g in two_grids] == ["44190010100201", "44190010100202"]
    assert two_grids[0].area_m2 == pytest.approx(10_000, rel=0.01)
    assert two_grids[0].kind is GridKind.COMPREHENSIVE


def test_fifteen_digit_codes_by_setting(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "grid_sequence_digits", 3)
    grid = create_grid(db, GridDraft(VILLAGE, sq(0, 0, 50, 50), "北京式", 300), actor=None)
    assert grid.code == "441900101002001"


def test_adjustment_keeps_every_version(db: Session, two_grids: list[Grid], make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin", ("division", "441900101"))
    grid = two_grids[0]
    old_geometry = grid.geometry
    adjust_grid(
        db, grid, actor=admin, note="新小区入住", households=480, geometry=sq(0, 0, 100, 120)
    )
    adjust_grid(db, grid, actor=admin, note="改名", name="西片一区")
    history = grid_history(db, grid)
    assert [v.version for v in history] == [1, 2, 3]
    assert [v.reason for v in history] == [
        VersionReason.CREATED,
        VersionReason.ADJUSTED,
        VersionReason.ADJUSTED,
    ]
    assert history[0].households == 400 and history[0].geometry == old_geometry
    assert history[1].households == 480 and history[1].filed_by_id == admin.id
    assert history[2].name == "西片一区" and history[2].note == "改名"
    assert grid.area_m2 == pytest.approx(12_000, rel=0.01)


def test_versions_are_append_only(db: Session, two_grids: list[Grid]) -> None:
    with pytest.raises(Exception, match="append-only|permission denied"):
        with db.begin_nested():
            db.execute(text("UPDATE grid_versions SET households = 1"))


def test_adjust_refuses_unknown_fields_and_missing_note(db: Session, two_grids: list[Grid]) -> None:
    with pytest.raises(Invalid, match="cannot adjust code"):
        adjust_grid(db, two_grids[0], actor=None, note="x", code="44190010100299")
    with pytest.raises(Invalid, match="note"):
        adjust_grid(db, two_grids[0], actor=None, note=" ", households=1)
    assert db.scalar(select(func.count()).select_from(GridVersion)) == 2


def test_retired_grid_keeps_history_and_cannot_change(db: Session, two_grids: list[Grid]) -> None:
    retire_grid(db, two_grids[1], actor=None, note="merged")
    assert two_grids[1].valid_to is not None
    with pytest.raises(Conflict):
        adjust_grid(db, two_grids[1], actor=None, note="x", households=1)
    assert grid_history(db, two_grids[1])[-1].reason is VersionReason.RETIRED


def test_bad_input_is_refused(db: Session, two_grids: list[Grid]) -> None:
    bowtie = Polygon([(113.78, 23.09), (113.79, 23.10), (113.79, 23.09), (113.78, 23.10)])
    with pytest.raises(Invalid, match="invalid polygon"):
        create_grid(db, GridDraft(VILLAGE, bowtie, "bow"), actor=None)
    with pytest.raises(Invalid, match="unknown village code 441900101999"):
        create_grid(db, GridDraft("441900101999", sq(0, 0, 1, 1), "x"), actor=None)
    with pytest.raises(Conflict, match="already exists"):
        create_grid(db, GridDraft(VILLAGE, sq(0, 0, 1, 1), "x", code="44190010100201"), actor=None)
    with pytest.raises(Invalid, match="not 441900101002"):
        create_grid(db, GridDraft(VILLAGE, sq(0, 0, 1, 1), "x", code="44190010120001"), actor=None)
    assert db.scalar(select(func.count()).select_from(Grid)) == 2


def test_second_level_grid_needs_first_level_parent(db: Session, two_grids: list[Grid]) -> None:
    child = create_grid(
        db,
        GridDraft(VILLAGE, sq(0, 0, 50, 50), "子网格", 100, level=2, parent_code=two_grids[0].code),
        actor=None,
    )
    assert child.parent_id == two_grids[0].id and child.level == 2
    with pytest.raises(Invalid, match="first-level parent"):
        create_grid(
            db,
            GridDraft(VILLAGE, sq(0, 0, 5, 5), "x", level=2, parent_code=child.code),
            actor=None,
        )


def test_actor_needs_admin_role_and_territory(
    db: Session, two_grids: list[Grid], make_user
) -> None:  # type: ignore[no-untyped-def]
    from civgrid.errors import Forbidden

    worker = make_user("grid_worker", ("division", "441900101"))
    stranger = make_user("admin", ("division", "441900102"))
    with pytest.raises(Forbidden):
        adjust_grid(db, two_grids[0], actor=worker, note="x", households=1)
    with pytest.raises(NotFound):
        adjust_grid(db, two_grids[0], actor=stranger, note="x", households=1)


def test_renumber_orders_rows_north_to_south(db: Session) -> None:
    # created in a scrambled order: south-east, north-west, south-west, north-east
    boxes = [sq(100, 0, 200, 100), sq(0, 100, 100, 200), sq(0, 0, 100, 100), sq(100, 100, 200, 200)]
    grids = [
        create_grid(db, GridDraft(VILLAGE, b, f"g{i}", 400), actor=None)
        for i, b in enumerate(boxes)
    ]
    renumber_village(db, VILLAGE, actor=None)
    assert [g.code[-2:] for g in grids] == ["04", "01", "03", "02"]
    assert grid_history(db, grids[0])[-1].code == grids[0].code


def test_members_and_neighbourhood_units(db: Session, two_grids: list[Grid], make_user) -> None:  # type: ignore[no-untyped-def]
    worker = make_user("grid_worker", ("grid", two_grids[0].code))
    set_grid_members(db, two_grids[0], user_ids=[worker.id], actor=None)
    assert [m.user_id for m in two_grids[0].members] == [worker.id]
    unit = create_neighbourhood_unit(db, two_grids[0], name="1栋", households=30, actor=None)
    assert unit.grid_id == two_grids[0].id
    with pytest.raises(Invalid, match="10–50"):
        create_neighbourhood_unit(db, two_grids[0], name="大院", households=80, actor=None)
    with pytest.raises(Invalid, match="unknown users"):
        set_grid_members(db, two_grids[0], user_ids=[999_999], actor=None)


def test_overlay_coverage_fractions(db: Session, two_grids: list[Grid]) -> None:
    layer = import_overlay_layer(
        db,
        code="police",
        name="警务区",
        areas=[("J1", "一区", sq(0, 0, 150, 100)), ("J2", "二区", sq(150, 0, 200, 100))],
        actor=None,
    )
    cov = {(c.area_id, c.grid_id): c.fraction for c in db.scalars(select(OverlayCoverage)).all()}
    j1, j2 = layer.areas
    west, east = two_grids
    assert cov[(j1.id, west.id)] == pytest.approx(1.0, abs=1e-3)
    assert cov[(j1.id, east.id)] == pytest.approx(0.5, abs=1e-3)
    assert cov[(j2.id, east.id)] == pytest.approx(0.5, abs=1e-3)
    assert (j2.id, west.id) not in cov
    with pytest.raises(Invalid, match="appears twice"):
        import_overlay_layer(
            db, code="x", name="x", areas=[("A", "a", sq(0, 0, 1, 1))] * 2, actor=None
        )
