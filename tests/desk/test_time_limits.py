"""The case page's time-limit panel after a return and a rework: the running stage first and
clearly, earlier runs folded in a <details>, each with the step that ended it (19.10)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from civgrid.cases import actions
from civgrid.cases.service import events_of, time_limits
from civgrid.cases.transitions import CaseAction
from tests.desk.conftest import World


def _returned_and_reworked(world: World):  # type: ignore[no-untyped-def]
    db = world.db
    case = world.drive(world.report(), "register", "dispatch", "accept")
    actions.return_case(db, case, actor=world.handler, reason="不属于我部门")
    world.drive(case, "dispatch", "accept", "handle")
    actions.verify_case(db, case, actor=world.worker, passed=False, note="仍有垃圾")
    return case


def test_the_panel_shows_the_running_stage_and_folds_the_history(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = _returned_and_reworked(world)
    limits = time_limits(world.db, case, events_of(world.db, case))
    assert limits.current is not None and limits.current.clock.stage.value == "handle"
    ended = [h.ended_by for h in limits.history]  # newest first
    assert ended[0] == CaseAction.VERIFY_FAIL and CaseAction.RETURN in ended
    assert all(h.view.clock.finished_at is not None for h in limits.history)

    as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{case.number}").text
    panel = re.search(r'<section class="card time-limits".*?</section>', page, re.S)
    assert panel is not None
    html = panel.group(0)
    current, _, history = html.partition('<details class="clock-history">')
    assert "当前阶段：处置" in current and "已用时限" in current
    assert "回退" not in current and "完成" not in current  # one row: the running stage
    assert history, "the history is not folded"
    assert f"此前各阶段（{len(limits.history)}）" in history
    assert "回退" in history and "核查不通过" in history
    assert history.count("<li>") == len(limits.history)


def test_a_closed_case_has_no_running_stage(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch", "accept", "handle", "verify")
    world.drive(case, "close")
    as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{case.number}").text
    assert "当前阶段不计时限" in page
    assert '<details class="clock-history">' in page
