"""Random action sequences through the real actions: the state is always one the table allows,
and the event log always replays to the case's current state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.cases import actions
from civgrid.cases.models import Case, CaseEvent
from civgrid.cases.transitions import CaseState, replay
from civgrid.errors import CivgridError


def _moves(w: Any) -> dict[str, Callable[[Session, Case], object]]:
    d, h, g = w.dispatcher, w.handler, w.worker
    return {
        "register": lambda db, c: actions.register_case(db, c, actor=d),
        "reject": lambda db, c: actions.reject_case(db, c, actor=d, reason="r"),
        "dispatch": lambda db, c: actions.dispatch_case(db, c, actor=d),
        "accept": lambda db, c: actions.accept_case(db, c, actor=h),
        "return": lambda db, c: actions.return_case(db, c, actor=h, reason="r"),
        "start": lambda db, c: actions.start_case(db, c, actor=h),
        "handle": lambda db, c: actions.handle_case(
            db, c, actor=h, feedback="f", attachment_ids=[w.steps["photo"][c.id]]
        ),
        "pass": lambda db, c: actions.verify_case(db, c, actor=g, passed=True),
        "fail": lambda db, c: actions.verify_case(db, c, actor=g, passed=False, note="n"),
        "close": lambda db, c: actions.close_case(db, c, actor=d, outcome="o"),
        "evaluate": lambda db, c: actions.evaluate_case(db, c, actor=d, rating=3),
        "self": lambda db, c: actions.self_handle_case(
            db, c, actor=g, note="n", attachment_ids=[w.steps["photo"][c.id]]
        ),
        "extend": lambda db, c: actions.request_extension(db, c, actor=h, amount=1, reason="r"),
        "approve": lambda db, c: actions.approve_extension(db, c, actor=d),
        "suspend": lambda db, c: actions.suspend_case(db, c, actor=d, reason="r"),
        "resume": lambda db, c: actions.resume_case(db, c, actor=d),
        "void": lambda db, c: actions.void_case(db, c, actor=d, reason="r"),
        "reopen": lambda db, c: actions.reopen_case(db, c, actor=d, reason="r"),
        "escalate": lambda db, c: actions.escalate_case(db, c, actor=d, note="n"),
        "summon": lambda db, c: actions.summon_departments(
            db, c, actor=d, departments=[w.dept2.code]
        ),
    }


NAMES = [
    "register",
    "reject",
    "dispatch",
    "accept",
    "return",
    "start",
    "handle",
    "pass",
    "fail",
    "close",
    "evaluate",
    "self",
    "extend",
    "approve",
    "suspend",
    "resume",
    "void",
    "reopen",
    "escalate",
    "summon",
]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.sampled_from(NAMES), min_size=1, max_size=25))
def test_random_sequences_replay(db: Session, world, steps: list[str]) -> None:
    moves = _moves(world)
    case = world.report()
    world.steps.setdefault("photo", {})[case.id] = world.photo(case, actor=world.worker)
    for name in steps:
        before = case.state
        try:
            moves[name](db, case)
        except CivgridError:
            db.refresh(case)
            assert case.state == before  # a refused action changes nothing
        assert case.state in CaseState
    assert replay(_log(db, case)) == case.state


def _log(db: Session, case: Case) -> list[tuple[str, str | None, str]]:
    """The case's event log as (action, from, to), oldest first."""
    rows = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    return [
        (e.action.value, e.from_state.value if e.from_state else None, e.to_state.value)
        for e in rows
    ]
