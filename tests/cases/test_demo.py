"""The demo township gets cases in the typical states, through the real actions."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases.models import Case, CaseSource
from civgrid.cases.transitions import replay
from civgrid.demo import load_demo
from tests.cases.test_property import _log

HISTORY = "巡查发现 / found on patrol"  # the description of every bulk-written history case


def _made_by_actions(db: Session) -> list[Case]:
    """The demo's cases but its bulk-written history (civgrid.cases.history) and the demo
    ledger's inspections, which open cases of their own (tests/ledger/test_demo.py)."""
    rows = db.scalars(select(Case).where(Case.source != CaseSource.INSPECTION))
    return [c for c in rows if c.description != HISTORY]


def test_demo_cases(db: Session) -> None:
    load_demo(db)
    history = list(db.scalars(select(Case).where(Case.description == HISTORY).order_by(Case.id)))
    assert len(history) > 2000  # about 13 months of the township
    for case in history[::100]:  # the bulk history replays through the transition table too
        assert replay(_log(db, case)) == case.state
    cases = _made_by_actions(db)
    states = Counter(c.state.value for c in cases)
    assert len(cases) == 16  # 10 by staff and the hotline, 6 from residents on the portal
    portal = [c for c in cases if c.source == CaseSource.PORTAL]
    assert Counter(c.state.value for c in portal) == {
        "closed": 2,
        "dispatched": 1,
        "registered": 2,
        "reported": 1,
    }
    assert {
        "reported",
        "registered",
        "dispatched",
        "handled",
        "evaluated",
        "closed",
        "rejected",
        "suspended",
    } <= set(states)
    for case in cases:
        assert replay(_log(db, case)) == case.state
    load_demo(db)  # idempotent
    assert len(_made_by_actions(db)) == 16
    assert db.scalar(select(func.count()).where(Case.description == HISTORY)) == len(history)


def test_every_demo_grid_is_staffed_and_any_report_goes_round(demo_db: Session) -> None:
    """A pin in 四甲村第2网格 (not 城中社区) goes the whole loop with demo logins."""
    from civgrid.auth.models import User
    from civgrid.cases import actions
    from civgrid.cases.models import AttachmentKind
    from civgrid.catalogue.service import get_category
    from civgrid.grids.geo import from_text
    from civgrid.grids.models import Grid
    from tests.cases.conftest import png_bytes

    db = demo_db
    grids = db.scalars(select(Grid).where(Grid.code.startswith("441900101"))).all()
    assert all(g.leader_id is not None and g.members for g in grids)
    staff = {u.username: u for u in db.scalars(select(User))}
    workers = [u for u in staff.values() if u.role.value == "grid_worker"]
    assert 5 <= len(workers) <= 7
    grid = db.scalars(select(Grid).where(Grid.name == "四甲村第2网格")).one()
    point = from_text(grid.geometry).representative_point()
    case = actions.report_case(
        db,
        source=CaseSource.PORTAL,
        category=get_category(db, "M06010"),
        lon=point.x,
        lat=point.y,
        description="村口暴露垃圾",
    ).case
    assert case.grid_code == grid.code
    actions.register_case(db, case, actor=staff["dispatcher"])
    actions.dispatch_case(db, case, actor=staff["dispatcher"])
    actions.accept_case(db, case, actor=staff["sanitation"])
    photo = actions.attach_photo(
        db,
        case,
        actor=staff["sanitation"],
        data=png_bytes(),
        kind=AttachmentKind.AFTER,
        filename="p.png",
    )
    actions.handle_case(
        db, case, actor=staff["sanitation"], feedback="已清运", attachment_ids=[photo.id]
    )
    actions.verify_case(db, case, actor=staff["worker2"], passed=True)
    actions.close_case(db, case, actor=staff["dispatcher"], outcome="已清运")
    assert case.state.value == "closed"
