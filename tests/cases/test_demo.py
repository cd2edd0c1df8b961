"""The demo township gets cases in the typical states, through the real actions."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.cases.models import Case, CaseSource
from civgrid.cases.transitions import replay
from civgrid.demo import load_demo
from tests.cases.test_property import _log


def test_demo_cases(db: Session) -> None:
    load_demo(db)
    # the demo ledger's inspections open cases of their own (tests/ledger/test_demo.py)
    cases = list(db.scalars(select(Case).where(Case.source != CaseSource.INSPECTION)))
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
    assert len(list(db.scalars(select(Case).where(Case.source != CaseSource.INSPECTION)))) == 16
