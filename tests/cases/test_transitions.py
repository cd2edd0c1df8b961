"""The transition table on its own: refusals name the state, replay folds through the table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civgrid.cases.transitions import (
    TRANSITIONS,
    CaseAction,
    CaseState,
    ReplayError,
    allowed_actions,
    replay,
    target,
)
from civgrid.errors import Conflict


def test_every_state_has_label_colour_and_group() -> None:
    for state in CaseState:
        assert state.label_zh != state.value
        assert state.group in {"open", "closed"}
    assert {s for s in CaseState if not s.is_open} == {
        CaseState.REJECTED,
        CaseState.CLOSED,
        CaseState.EVALUATED,
        CaseState.VOIDED,
        CaseState.MERGED,
    }


def test_main_line() -> None:
    path = [
        (CaseAction.REGISTER, CaseState.REGISTERED),
        (CaseAction.DISPATCH, CaseState.DISPATCHED),
        (CaseAction.ACCEPT, CaseState.ACCEPTED),
        (CaseAction.START, CaseState.HANDLING),
        (CaseAction.HANDLE, CaseState.HANDLED),
        (CaseAction.VERIFY_FAIL, CaseState.REWORK),
        (CaseAction.HANDLE, CaseState.HANDLED),
        (CaseAction.VERIFY_PASS, CaseState.VERIFIED),
        (CaseAction.CLOSE, CaseState.CLOSED),
        (CaseAction.EVALUATE, CaseState.EVALUATED),
    ]
    state = CaseState.REPORTED
    log = [("report", None, "reported")]
    for action, expected in path:
        new = target(action, state)
        assert new == expected
        log.append((action.value, state.value, new.value))
        state = new
    assert replay(log) == CaseState.EVALUATED


def test_refusal_names_state_and_allowed_actions() -> None:
    with pytest.raises(Conflict) as err:
        target(CaseAction.CLOSE, CaseState.REPORTED)
    assert "reported" in err.value.message
    assert err.value.detail["state"] == "reported"
    assert "register" in err.value.detail["allowed_actions"]


def test_resume_returns_to_state_before_suspension() -> None:
    assert target(CaseAction.RESUME, CaseState.SUSPENDED, CaseState.HANDLING) == CaseState.HANDLING
    with pytest.raises(Conflict):
        target(CaseAction.RESUME, CaseState.SUSPENDED, None)


def test_replay_refuses_a_forged_log() -> None:
    with pytest.raises(ReplayError):
        replay([("report", None, "reported"), ("close", "reported", "closed")])
    with pytest.raises(ReplayError):
        replay([("report", None, "reported"), ("register", "reported", "dispatched")])
    with pytest.raises(ReplayError):
        replay([("register", "reported", "registered")])


def test_final_states_allow_nothing_that_moves() -> None:
    for state in (CaseState.VOIDED, CaseState.MERGED):
        assert all(TRANSITIONS[a].to is None for a in allowed_actions(state))


@given(st.lists(st.sampled_from(list(CaseAction)), max_size=60))
def test_random_sequences_stay_in_the_table(actions: list[CaseAction]) -> None:
    state, before = CaseState.REPORTED, None
    log: list[tuple[str, str | None, str]] = [("report", None, "reported")]
    for action in actions:
        if action == CaseAction.REPORT:
            continue
        try:
            new = target(action, state, before)
        except Conflict:
            assert action not in allowed_actions(state) or action == CaseAction.RESUME
            continue
        assert new in CaseState
        if new == CaseState.SUSPENDED:
            before = state
        log.append((action.value, state.value, new.value))
        state = new
    assert replay(log) == state
