"""Notices reach the staff of the areas chosen, who confirm reading; the public sees public ones."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.errors import Forbidden, Invalid, NotFound
from civgrid.grids.models import Grid, NeighbourhoodUnit
from civgrid.notices import actions, service
from civgrid.notices.models import Notice, NoticeKind, NoticeReceipt, TargetKind
from tests.cases import factories

VILLAGE = "441900101002"


@pytest.fixture
def grid_code(db: Session) -> str:
    return factories.grid(db, VILLAGE)[2]


def _publish(db: Session, actor, targets, public: bool = False) -> Notice:  # type: ignore[no-untyped-def]
    return actions.publish_notice(
        db,
        actor=actor,
        kind=NoticeKind.SERVICE,
        title="周六停水通知",
        body="本周六8:00–12:00停水检修。",
        targets=targets,
        public=public,
    )


def test_a_grid_notice_reaches_its_workers_and_receipts_are_per_worker(
    db: Session, make_user, grid_code: str
) -> None:
    leader = make_user("grid_leader", ("division", VILLAGE))
    worker = make_user("grid_worker", ("grid", grid_code))
    village_worker = make_user("grid_worker", ("division", VILLAGE))
    elsewhere = make_user("grid_worker", ("division", "441900101003"))
    notice = _publish(db, leader, [(TargetKind.GRID, grid_code)])
    assert [r.notice.id for r in service.notices_for(db, worker)] == [notice.id]
    assert [r.notice.id for r in service.notices_for(db, village_worker)] == [notice.id]
    assert service.notices_for(db, elsewhere) == []
    actions.confirm_read(db, notice.id, actor=worker)
    actions.confirm_read(db, notice.id, actor=worker)
    assert [u.id for u, _ in service.receipts(db, notice)] == [worker.id]
    assert service.notices_for(db, worker)[0].read_at is not None
    assert service.notices_for(db, village_worker)[0].read_at is None
    with pytest.raises(NotFound):
        actions.confirm_read(db, notice.id, actor=elsewhere)


def test_units_villages_and_bad_targets(db: Session, make_user, grid_code: str) -> None:
    leader = make_user("grid_leader", ("division", VILLAGE))
    grid = db.scalar(select(Grid).where(Grid.code == grid_code))
    unit = NeighbourhoodUnit(grid_id=grid.id, name="一号联户", households=20)
    db.add(unit)
    db.commit()
    n = _publish(db, leader, [(TargetKind.UNIT, str(unit.id)), (TargetKind.VILLAGE, VILLAGE)])
    assert [t.territory_code for t in n.targets] == [grid_code, VILLAGE]
    with pytest.raises(Invalid):
        _publish(db, leader, [(TargetKind.GRID, "99999999999999")])
    with pytest.raises(Invalid):
        _publish(db, leader, [])
    with pytest.raises(NotFound):
        _publish(db, leader, [(TargetKind.VILLAGE, "441900101200")])
    with pytest.raises(Forbidden):
        _publish(
            db, make_user("grid_worker", ("division", VILLAGE)), [(TargetKind.VILLAGE, VILLAGE)]
        )
    with pytest.raises(Invalid, match="HTML"):
        actions.publish_notice(
            db,
            actor=leader,
            kind="policy",
            title="<b>x</b>",
            body="y",
            targets=[("village", VILLAGE)],
        )
    assert db.scalar(select(func.count()).select_from(Notice)) == 1


def test_public_notices_show_for_their_area_and_record_nothing(
    client: TestClient, db: Session, make_user, grid_code: str
) -> None:
    leader = make_user("grid_leader", ("division", VILLAGE))
    _publish(db, leader, [(TargetKind.GRID, grid_code)], public=True)
    _publish(db, leader, [(TargetKind.GRID, grid_code)], public=False)
    assert len(service.public_notices(db, VILLAGE)) == 1
    assert len(service.public_notices(db, "441900101200")) == 0
    page = client.get(f"/notices?area={grid_code}")
    assert page.status_code == 200
    assert "周六停水通知" in page.text
    card = client.get(f"/directory/grids/{grid_code}")
    assert card.status_code == 200
    assert "周六停水通知" in card.text
    assert db.scalar(select(func.count()).select_from(NoticeReceipt)) == 0


def test_receipts_matrix_and_confirming_in_the_field_app(
    client: TestClient, bearer, db: Session, make_user, grid_code: str
) -> None:  # type: ignore[no-untyped-def]
    leader = make_user("grid_leader", ("division", VILLAGE))
    worker = make_user("grid_worker", ("division", VILLAGE))
    notice = _publish(db, leader, [(TargetKind.GRID, grid_code)])
    url = f"/notices/{notice.id}/receipts"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(worker)).status_code == 403
    outside = make_user("grid_leader", ("division", "441900101200"))
    assert client.get(url, headers=bearer(outside)).status_code == 404
    h = bearer(worker)
    assert "周六停水通知" in client.get("/field/notices", headers=h).text
    r = client.post(f"/field/notices/{notice.id}/read", headers=h, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(url, headers=bearer(leader))
    assert page.status_code == 200
    assert worker.display_name in page.text
