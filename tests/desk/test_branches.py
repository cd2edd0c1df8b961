"""The command center's branch actions through the case page forms: extension request and
approval, summons, escalation, suspension and resumption."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.desk.conftest import World


def act(client: TestClient, token: str, number: str, name: str, **form: Any) -> Any:
    return client.post(
        f"/desk/cases/{number}/act/{name}",
        data={"csrf_token": token, **form},
        follow_redirects=False,
    )


def test_extension_requested_by_the_handler_and_approved_by_the_dispatcher(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch", "accept")
    due = case.due_at
    token = as_user(world.handler)
    assert act(client, token, case.number, "request_extension", amount="2").status_code == 422
    assert (
        act(client, token, case.number, "request_extension", amount="x", reason="r").status_code
        == 422
    )
    r = act(client, token, case.number, "request_extension", amount="2", reason="等材料")
    assert r.status_code == 303
    token = as_user(world.dispatcher)
    board = client.get("/desk/command").text
    assert case.number in board.split('id="q-ext"')[1].split("</section>")[0]
    page = client.get(f"/desk/cases/{case.number}").text
    assert "act/approve_extension" in page
    assert act(client, token, case.number, "approve_extension").status_code == 303
    world.db.refresh(case)
    assert case.extension_amount is None
    assert due is not None and case.due_at is not None and case.due_at > due


def test_summons_escalation_suspension(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch")
    token = as_user(world.dispatcher)
    assert act(client, token, case.number, "summon").status_code == 422  # no department
    r = act(client, token, case.number, "summon", departments=world.dept2.code, note="联合执法")
    assert r.status_code == 303
    assert world.dept2.code in client.get(f"/desk/cases/{case.number}").text
    assert act(client, token, case.number, "escalate", reason="").status_code == 422
    assert act(client, token, case.number, "escalate", reason="跨部门").status_code == 303
    world.db.refresh(case)
    assert case.level.value == "village"
    assert act(client, token, case.number, "suspend", reason="").status_code == 422
    assert act(client, token, case.number, "suspend", reason="等待审批").status_code == 303
    world.db.refresh(case)
    assert case.state.value == "suspended"
    assert case.number in client.get("/desk/command").text.split('id="q-susp"')[1]
    assert act(client, token, case.number, "resume").status_code == 303
    world.db.refresh(case)
    assert case.state.value == "dispatched"


def test_the_summoned_department_sees_the_case(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch")
    token = as_user(world.dispatcher)
    act(client, token, case.number, "summon", departments=world.dept2.code)
    as_user(world.other_handler)
    assert case.number in client.get("/desk/queue").text
    assert client.get(f"/desk/cases/{case.number}").status_code == 200


def test_verification_failure_needs_a_note_and_sends_back_for_rework(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch", "accept", "handle")
    token = as_user(world.worker)
    assert case.number in client.get("/field").text.split('id="h-verify"')[1].split("</section>")[0]
    assert act(client, token, case.number, "verify", result="fail").status_code == 422
    r = act(client, token, case.number, "verify", result="fail", note="仍有残留")
    assert r.status_code == 303
    world.db.refresh(case)
    assert case.state.value == "rework"


def test_actions_offered_follow_role_and_state(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    as_user(world.worker)
    page = client.get(f"/desk/cases/{case.number}").text
    assert "act/register" not in page
    as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{case.number}").text
    assert "act/register" in page
    assert "act/reject" in page
    assert "act/close" not in page


def test_the_summoned_department_reports_in(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch")
    act(client, as_user(world.dispatcher), case.number, "summon", departments=world.dept2.code)
    token = as_user(world.other_handler)
    assert "act/acknowledge" in client.get(f"/desk/cases/{case.number}").text
    assert act(client, token, case.number, "acknowledge", note="王科长到场").status_code == 303
    page = client.get(f"/desk/cases/{case.number}").text
    assert "act/acknowledge" not in page and "王科长到场" in page
    assert act(client, token, case.number, "acknowledge").status_code == 409  # once only
    # the department the case was dispatched to was not summoned: nothing to report in for
    token = as_user(world.handler)
    assert "act/acknowledge" not in client.get(f"/desk/cases/{case.number}").text


def test_merge_a_duplicate_and_reopen_a_closed_case(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    first = world.drive(world.report(), "register")
    second = world.report()
    token = as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{second.number}").text
    assert f'value="{first.number}"' in page  # the likely duplicate is offered as the target
    assert act(client, token, second.number, "merge", into="").status_code == 422
    assert act(client, token, second.number, "merge", into="NO-SUCH").status_code == 404
    assert act(client, token, second.number, "merge", into=first.number).status_code == 303
    world.db.refresh(second)
    assert second.state.value == "merged" and second.merged_into_id == first.id

    closed = world.drive(
        world.report(), "register", "dispatch", "accept", "handle", "verify", "close"
    )
    assert act(client, token, closed.number, "reopen", reason="").status_code == 422
    assert act(client, token, closed.number, "reopen", reason="居民反映未解决").status_code == 303
    world.db.refresh(closed)
    assert closed.state.value == "registered"


def test_reporter_contact_is_revealed_to_the_command_center_only(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from civgrid.audit.models import AuditEvent
    from civgrid.cases.actions import Contact

    case = world.report(contact=Contact(phone="13912345678"))
    reads = select(func.count()).where(AuditEvent.action == "personal_data.read")
    before = world.db.scalar(reads)
    as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{case.number}").text
    assert "13912345678" not in page and f"/desk/cases/{case.number}/contact" in page
    assert world.db.scalar(reads) == before  # opening the page reads nothing personal
    shown = client.get(f"/desk/cases/{case.number}/contact")
    assert shown.status_code == 200 and "13912345678" in shown.text
    assert world.db.scalar(reads) == before + 1
    as_user(world.worker)
    assert "/contact" not in client.get(f"/desk/cases/{case.number}").text
    assert client.get(f"/desk/cases/{case.number}/contact").status_code == 403
