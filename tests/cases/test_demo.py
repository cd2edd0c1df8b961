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
