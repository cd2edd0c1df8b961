"""Stored proposals: propose from the stored territory, nudge, accept (filed versions), scope."""

from __future__ import annotations

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.grids.actions import GridDraft, create_grid
from civgrid.grids.models import FeatureKind, Grid, GridVersion
from civgrid.grids.overlays import replace_features, set_division_boundary
from civgrid.planning import actions, service
from civgrid.planning.inputs import Unit
from civgrid.planning.models import GridProposal, ProposalStatus
from tests.planning.conftest import wgs

VILLAGE = "441900101002"
BOX = shapely.box(0, 0, 900, 600)


def _territory(db: Session) -> list[Unit]:
    set_division_boundary(db, VILLAGE, wgs(BOX), actor=None)
    road = wgs(shapely.LineString([(450, -10), (450, 610)]))
    site = wgs(shapely.box(100, 100, 180, 160))
    replace_features(
        db,
        VILLAGE,
        [(FeatureKind.ROAD, "中路", road), (FeatureKind.PROTECTED, "小学", site)],
        actor=None,
    )
    return [
        Unit(f"u{i}", wgs(shapely.Point(x, y)), 12)
        for i, (x, y) in enumerate((x, y) for x in range(30, 900, 60) for y in range(30, 600, 60))
    ]


def test_propose_nudge_accept_files_versions(db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin", ("division", "441900101"))
    units = _territory(db)
    old = create_grid(db, GridDraft(VILLAGE, wgs(BOX), "旧网格", 1800), actor=None)
    p = actions.propose_grids(db, VILLAGE, units, actor=admin)
    data = service.result_of(p)
    assert p.status == ProposalStatus.DRAFT
    assert data["summary"]["in_band_share"] == 1.0 and data["checks"]["split_sites"] == []
    assert len(data["features"]) == data["summary"]["grids"] >= 4

    # nudge: a unit on a grid border moves to the neighbouring grid; the checks follow
    assignment = service.assignment_of(p)
    unit, target = _border_move(db, p, assignment)
    actions.nudge_proposal(db, p, unit_id=unit, to_code=target, actor=admin)
    assert p.revision == 2
    after = service.assignment_of(p)
    assert after[unit] != assignment[unit]
    moved = {
        f["properties"]["code"]: f["properties"]["households"]
        for f in service.result_of(p)["features"]
    }
    assert sum(moved.values()) == 12 * len(units)

    grids = actions.accept_proposal(db, p, actor=admin, note="2026 division")
    assert p.status == ProposalStatus.ACCEPTED
    current = db.scalars(
        select(Grid).where(Grid.village_code == VILLAGE, Grid.valid_to.is_(None))
    ).all()
    assert {g.code for g in current} == {g.code for g in grids} == set(moved)
    # the old grid (same code as the first proposed one) has its first version kept on file
    versions = db.scalars(select(GridVersion).where(GridVersion.grid_id == old.id)).all()
    assert [v.version for v in versions] == [1, 2] and versions[0].name == "旧网格"
    events = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "grid_proposal")
    ).all()
    assert {"planning.propose", "planning.nudge", "planning.accept"} <= set(events)


def _border_move(db: Session, p: GridProposal, assignment: dict[str, str]) -> tuple[str, str]:
    """A unit and a neighbouring grid it can move to without breaking contiguity."""
    from civgrid.errors import Invalid
    from civgrid.planning.nudge import regroup

    boundary, units, roads, sites, exclusive = service.load_inputs(p)
    for u in units:
        for code in sorted(set(assignment.values()) - {assignment[u.id]}):
            try:
                regroup(
                    VILLAGE,
                    boundary,
                    units,
                    assignment,
                    roads=roads,
                    protected=sites,
                    move=(u.id, code),
                )
            except Invalid:
                continue
            return u.id, code
    raise AssertionError("no unit can move")


def test_nudge_refuses_non_neighbour_and_accepted(db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    from civgrid.errors import Conflict, Invalid

    admin = make_user("admin", ("division", "441900101"))
    p = actions.propose_grids(db, VILLAGE, _territory(db), actor=admin)
    codes = sorted({f["properties"]["code"] for f in service.result_of(p)["features"]})
    first = next(u for u, c in service.assignment_of(p).items() if c == codes[0])
    far = codes[-1]
    try:
        actions.nudge_proposal(db, p, unit_id=first, to_code=far, actor=admin)
        raise AssertionError("moved to a far grid")
    except Invalid as exc:
        assert "does not border" in exc.message or "split" in exc.message
    actions.discard_proposal(db, p, actor=admin)
    try:
        actions.nudge_proposal(db, p, unit_id=first, to_code=codes[1], actor=admin)
        raise AssertionError("nudged a discarded proposal")
    except Conflict:
        pass


def test_proposal_permissions(db: Session, client, make_user, bearer) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin", ("division", "441900101"))
    p = actions.propose_grids(db, VILLAGE, _territory(db), actor=admin)
    url = f"/api/v1/planning/proposals/{p.id}"
    assert client.get(url).status_code == 401
    outsider = make_user("admin", ("division", "441900102"))
    assert client.get(url, headers=bearer(outsider)).status_code == 404
    resident = make_user("resident")
    assert client.get(url, headers=bearer(resident)).status_code == 403
    worker = make_user("grid_worker", ("division", "441900101"))
    r = client.get(url, headers=bearer(worker))
    assert r.status_code == 200 and r.json()["village_code"] == VILLAGE
    from civgrid.errors import Forbidden

    try:
        actions.accept_proposal(db, p, actor=worker, note="x")
        raise AssertionError("a grid worker accepted a division")
    except Forbidden:
        pass


def test_propose_without_boundary_is_refused(db: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    from civgrid.errors import Invalid

    admin = make_user("admin", ("division", "441900101"))
    try:
        actions.propose_grids(
            db, "441900101002", [Unit("a", wgs(shapely.Point(1, 1)), 1)], actor=admin
        )
        raise AssertionError("proposed without a boundary")
    except Invalid as exc:
        assert "no boundary is stored" in exc.message
    assert db.scalar(select(GridProposal.id)) is None


def test_accept_is_one_transaction(db: Session, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A failure while filing the new division leaves the old grids and the draft untouched."""
    import pytest

    admin = make_user("admin", ("division", "441900101"))
    units = _territory(db)
    old = create_grid(db, GridDraft(VILLAGE, wgs(BOX), "旧网格", 1800), actor=None)
    p = actions.propose_grids(db, VILLAGE, units, actor=admin)
    real_add = actions.add_grid
    calls = []

    def failing_add(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(actions, "add_grid", failing_add)
    with pytest.raises(RuntimeError):
        actions.accept_proposal(db, p, actor=admin, note="2026 division")
    db.expire_all()
    current = db.scalars(select(Grid).where(Grid.village_code == VILLAGE)).all()
    assert [(g.code, g.version, g.valid_to) for g in current] == [(old.code, 1, None)]
    assert db.get(GridProposal, p.id).status == ProposalStatus.DRAFT  # type: ignore[union-attr]
    assert (
        db.scalars(select(GridVersion).where(GridVersion.grid_id == old.id)).all()[-1].version == 1
    )


def test_a_geometry_failure_is_a_clear_4xx(db: Session, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from civgrid.errors import Invalid

    admin = make_user("admin", ("division", "441900101"))
    units = _territory(db)

    def broken(*_a: object, **_k: object) -> None:
        raise shapely.errors.GEOSException("TopologyException: side location conflict")

    monkeypatch.setattr(actions, "divide_village", broken)
    with pytest.raises(Invalid, match="could not be divided") as caught:
        actions.propose_grids(db, VILLAGE, units, actor=admin)
    assert caught.value.status_code == 422
    assert db.scalar(select(GridProposal.id)) is None
