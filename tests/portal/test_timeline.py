"""The public timeline of a case: the stage, not internal routing (19.8); who verified, by role,
and photos labelled by stage (19.9)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from civgrid.cases import actions
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment, CaseEvent
from civgrid.cases.transitions import CaseAction
from civgrid.portal.service import public_timeline
from tests.cases.conftest import VILLAGE, World


def _timeline(client: TestClient, case: Case) -> str:
    page = client.get(f"/portal/cases/{case.number}")
    assert page.status_code == 200, page.text
    found = re.search(r'<ol class="timeline">(.*?)</ol>', page.text, re.S)
    assert found is not None
    return found.group(1)


def _handled(world: World) -> Case:
    return world.drive(world.report(), "register", "dispatch", "accept", "handle")


def test_a_return_shows_the_stage_not_the_department_that_sent_it_back(
    world: World, client: TestClient
) -> None:
    db = world.db
    case = world.drive(world.report(), "register", "dispatch")
    assert case.department_code == world.dept.code
    actions.return_case(db, case, actor=world.handler, reason="不属于我部门职责")
    actions.dispatch_case(db, case, actor=world.dispatcher, department=world.dept2.code)
    steps = public_timeline(db, case)
    returned = next(s for s in steps if s.action == CaseAction.RETURN)
    assert returned.department is None and returned.note == ""
    timeline = _timeline(client, case)
    lines = re.findall(r"<li>(.*?)</li>", timeline, re.S)
    back = next(line for line in lines if "正在确定责任部门" in line)
    assert world.dept.name_zh not in back and "不属于我部门职责" not in back
    assert "改派" not in timeline
    assert world.dept2.name_zh in lines[-1]  # the new dispatch is public: 环卫


def test_the_timeline_names_who_verified_by_role(
    world: World, client: TestClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    db = world.db
    supervisor = make_user("supervisor", ("division", VILLAGE))
    by_worker = _handled(world)
    actions.verify_case(db, by_worker, actor=world.worker, passed=True)
    assert "网格员已现场核查" in _timeline(client, by_worker)

    by_supervisor = _handled(world)
    actions.verify_case(db, by_supervisor, actor=supervisor, passed=False, note="仍有垃圾")
    world.drive(by_supervisor, "handle")
    photo = world.photo(by_supervisor, supervisor, kind="after")  # sent as "after" over the API
    actions.verify_case(db, by_supervisor, actor=supervisor, passed=True, attachment_ids=[photo])
    timeline = _timeline(client, by_supervisor)
    assert "监督员核查未通过：退回返工" in timeline
    assert "监督员已现场核查" in timeline and "网格员已现场核查" not in timeline
    # the verifier's photo is labelled as the check, the handler's as after handling
    assert db.get(CaseAttachment, photo).kind == AttachmentKind.VERIFY
    page = client.get(f"/portal/cases/{by_supervisor.number}").text
    photos = re.search(r'<ul class="photos">(.*?)</ul>', page, re.S)
    assert photos is not None
    labels = re.findall(r"</a>([^<]+)</li>", photos.group(1))
    assert labels == ["处置后", "处置后", "核查"]


def test_an_older_verification_without_a_recorded_role_uses_the_actors_role(
    world: World, make_user
) -> None:  # type: ignore[no-untyped-def]
    """Events written before the role was recorded (or by the history import) have no role."""
    db = world.db
    supervisor = make_user("supervisor", ("division", VILLAGE))
    case = _handled(world)
    actions.verify_case(db, case, actor=supervisor, passed=True)
    event = db.scalar(
        select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.action == CaseAction.VERIFY_PASS
        )
    )
    assert event is not None and event.data == {"role": "supervisor"}
    older = CaseEvent(
        case_id=case.id,
        at=event.at,
        actor_id=supervisor.id,
        actor_label=supervisor.username,
        action=CaseAction.VERIFY_PASS,
        from_state=event.from_state,
        to_state=event.to_state,
        data={},
    )
    db.add(older)
    db.commit()
    texts = [s.text for s in public_timeline(db, case) if s.action == CaseAction.VERIFY_PASS]
    assert texts == ["Checked on site by the supervisor"] * 2
