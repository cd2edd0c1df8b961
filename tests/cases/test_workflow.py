"""The closed loop through the real action functions: every branch, refusals, notifications."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.cases import actions
from civgrid.cases.duplicates import find_duplicates
from civgrid.cases.models import Case, CaseEvent, CaseLevel, CaseNotification, CaseSource
from civgrid.cases.transitions import CaseState, replay
from civgrid.catalogue.models import Stage
from civgrid.errors import Conflict, Forbidden, Invalid, NotFound

S = CaseState


def _events(db: Session, case: Case) -> int:
    return db.scalar(select(func.count()).where(CaseEvent.case_id == case.id)) or 0


def _log(db: Session, case: Case) -> list[tuple[str, str | None, str]]:
    rows = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    return [
        (e.action.value, e.from_state.value if e.from_state else None, e.to_state.value)
        for e in rows
    ]


def _notes(db: Session, case: Case, kind: str) -> list[CaseNotification]:
    q = select(CaseNotification).where(
        CaseNotification.case_id == case.id, CaseNotification.kind == kind
    )
    return list(db.scalars(q))


def test_report_numbers_locates_and_starts_the_register_clock(db: Session, world) -> None:
    a = world.report()
    b = world.report()
    assert re.fullmatch(r"441900101-\d{8}-\d{5}", a.number)
    assert int(b.number[-5:]) == int(a.number[-5:]) + 1
    assert a.state == S.REPORTED
    assert a.grid_code == world.grid_code
    assert a.territory_code == world.grid_code
    assert a.division_code == world.village
    assert a.level == CaseLevel.GRID
    assert a.stage == Stage.REGISTER
    assert a.due_at is not None and a.due_at > a.reported_at
    assert _log(db, a) == [("report", None, "reported")]


def test_reported_objects_are_their_rows_and_load_nothing(db: Session, world) -> None:
    """The intake writes with Core; the case, event and clock it returns are the stored rows."""
    from sqlalchemy import event, inspect

    from civgrid.cases.models import CaseClock

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    case = world.report(contact=actions.Contact("0769-12345678", None), address=" 东城路 1 号 ")
    event.listen(db.get_bind(), "before_cursor_execute", count)
    try:  # every column and the clock are there, as if loaded: no query
        held = {c.key: getattr(case, c.key) for c in inspect(Case).columns}
        clocks = [(k.id, k.stage, k.amount, k.unit, k.started_at, k.due_at) for k in case.clocks]
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", count)
    assert statements == []
    assert not db.dirty and not db.new
    db.expunge_all()
    stored = db.get(Case, held["id"])
    assert stored is not None
    assert {c.key: getattr(stored, c.key) for c in inspect(Case).columns} == held
    assert held["version"] == 1 and held["address"] == "东城路 1 号"
    assert held["reporter_phone"] == "0769-12345678"
    assert [(k.id, k.stage, k.amount, k.unit, k.started_at, k.due_at) for k in stored.clocks] == (
        clocks
    )
    (first,) = db.scalars(select(CaseEvent).where(CaseEvent.case_id == stored.id))
    assert first.data == {"source": "patrol"} and first.attachment_ids == []
    assert first.actor_id == world.worker.id and first.note == ""
    assert db.scalar(select(func.count()).select_from(CaseClock)) >= 1
    # The case goes on like any other: registered, with its optimistic version moving on.
    actions.register_case(db, stored, actor=world.dispatcher)
    assert stored.state == S.REGISTERED and stored.version > 1


def test_main_line_with_rework_replays(db: Session, world) -> None:
    case = world.report(contact=actions.Contact(phone="13800000000"))
    actions.register_case(db, case, actor=world.dispatcher)
    assert case.stage == Stage.DISPATCH and case.registered_at is not None
    actions.dispatch_case(db, case, actor=world.dispatcher)
    assert case.department_code == world.dept.code
    actions.accept_case(db, case, actor=world.handler)
    actions.start_case(db, case, actor=world.handler)
    actions.handle_case(
        db, case, actor=world.handler, feedback="cleared", attachment_ids=[world.photo(case)]
    )
    assert case.stage == Stage.VERIFY
    actions.verify_case(db, case, actor=world.worker, passed=False, note="still a pile left")
    assert case.state == S.REWORK and case.stage == Stage.HANDLE
    assert _notes(db, case, "rework")
    actions.handle_case(
        db, case, actor=world.handler, feedback="all gone", attachment_ids=[world.photo(case)]
    )
    actions.verify_case(db, case, actor=world.worker, passed=True)
    actions.close_case(db, case, actor=world.dispatcher, outcome="Rubbish removed.")
    assert case.state == S.CLOSED and case.stage is None and case.closed_at is not None
    assert _notes(db, case, "outcome")
    actions.evaluate_case(db, case, actor=world.dispatcher, rating=5)
    assert case.state == S.EVALUATED and case.rating == 5
    assert replay(_log(db, case)) == case.state
    stages = [c.stage for c in case.clocks]
    assert stages == [
        Stage.REGISTER,
        Stage.DISPATCH,
        Stage.HANDLE,
        Stage.VERIFY,
        Stage.HANDLE,
        Stage.VERIFY,
        Stage.CLOSE,
    ]
    assert all(c.finished_at is not None for c in case.clocks)


def test_illegal_action_is_409_naming_the_state_and_writes_nothing(db: Session, world) -> None:
    case = world.report()
    before = _events(db, case)
    with pytest.raises(Conflict) as err:
        actions.close_case(db, case, actor=world.dispatcher, outcome="done")
    assert "reported" in err.value.message
    assert err.value.detail["state"] == "reported"
    assert _events(db, case) == before
    db.refresh(case)
    assert case.state == S.REPORTED


def test_bad_arguments_are_422_and_write_nothing(db: Session, world) -> None:
    case = world.report()
    with pytest.raises(Invalid):
        actions.reject_case(db, case, actor=world.dispatcher, reason="  ")
    actions.register_case(db, case, actor=world.dispatcher)
    with pytest.raises(Invalid):
        actions.dispatch_case(db, case, actor=world.dispatcher, department="NO-SUCH")
    before = _events(db, case)
    assert case.state == S.REGISTERED
    with pytest.raises(Invalid):
        world.report(description="")
    with pytest.raises(Invalid):
        world.report(lon=0.0, lat=0.0)  # outside the service area
    assert _events(db, case) == before


def test_role_and_scope_are_checked_by_the_action(db: Session, world) -> None:
    case = world.report()
    with pytest.raises(Forbidden):
        actions.register_case(db, case, actor=world.worker)
    with pytest.raises(NotFound):
        actions.register_case(db, case, actor=world.outsider)
    actions.register_case(db, case, actor=world.dispatcher)
    actions.dispatch_case(db, case, actor=world.dispatcher)
    with pytest.raises(NotFound):
        actions.accept_case(db, case, actor=world.other_handler)
    assert case.state == S.DISPATCHED


def test_routing_override_is_recorded(db: Session, world) -> None:
    case = world.drive(world.report(), "register")
    actions.dispatch_case(db, case, actor=world.dispatcher, department=world.dept2.code)
    event = db.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    ).first()
    assert event is not None
    assert event.data == {
        "suggested_department": world.dept.code,
        "department": world.dept2.code,
        "override": True,
    }
    assert case.department_code == world.dept2.code


def test_return_then_redispatch(db: Session, world) -> None:
    case = world.drive(world.report(), "register", "dispatch")
    actions.return_case(db, case, actor=world.handler, reason="not ours")
    assert case.state == S.RETURNED and case.stage == Stage.DISPATCH
    actions.dispatch_case(db, case, actor=world.dispatcher, department=world.dept2.code)
    assert case.state == S.DISPATCHED


def test_self_handle_only_for_listed_matters(db: Session, world) -> None:
    case = world.report()
    photo = world.photo(case, actor=world.worker)
    actions.self_handle_case(
        db, case, actor=world.worker, note="moved the bike", attachment_ids=[photo]
    )
    assert case.state == S.CLOSED and case.outcome_note == "moved the bike"
    other = world.report(category=world.unlisted)
    photo = world.photo(other, actor=world.worker)
    with pytest.raises(Invalid):
        actions.self_handle_case(db, other, actor=world.worker, note="x", attachment_ids=[photo])
    assert other.state == S.REPORTED
    with pytest.raises(Invalid):
        actions.self_handle_case(
            db, world.report(), actor=world.worker, note="x", attachment_ids=[]
        )


def test_extension_moves_the_deadline(db: Session, world) -> None:
    case = world.drive(world.report(), "register", "dispatch", "accept")
    due = case.due_at
    assert due is not None
    with pytest.raises(Conflict):
        actions.approve_extension(db, case, actor=world.dispatcher)
    actions.request_extension(db, case, actor=world.handler, amount=2, reason="parts on order")
    with pytest.raises(Conflict):
        actions.request_extension(db, case, actor=world.handler, amount=1, reason="again")
    actions.approve_extension(db, case, actor=world.dispatcher, note="ok")
    assert case.due_at is not None and case.due_at > due
    assert case.extension_amount is None
    assert case.state == S.ACCEPTED


def test_suspend_and_resume(db: Session, world) -> None:
    case = world.drive(world.report(), "register", "dispatch", "accept", "start")
    actions.suspend_case(db, case, actor=world.dispatcher, reason="needs a budget")
    assert case.state == S.SUSPENDED and case.due_at is None
    actions.resume_case(db, case, actor=world.dispatcher)
    assert case.state == S.HANDLING and case.stage == Stage.HANDLE and case.due_at is not None
    assert replay(_log(db, case)) == S.HANDLING


def test_void_reject_and_reopen(db: Session, world) -> None:
    voided = world.report()
    actions.void_case(db, voided, actor=world.dispatcher, reason="test report")
    assert voided.state == S.VOIDED
    with pytest.raises(Conflict):
        actions.reopen_case(db, voided, actor=world.dispatcher, reason="x")
    rejected = world.report()
    actions.reject_case(db, rejected, actor=world.dispatcher, reason="private property")
    assert rejected.state == S.REJECTED and rejected.outcome_note == "private property"
    actions.reopen_case(db, rejected, actor=world.dispatcher, reason="it is public land")
    assert rejected.state == S.REGISTERED and rejected.stage == Stage.DISPATCH


def test_a_report_finds_its_likely_duplicates_as_the_cases_were_before_it(
    db: Session, world
) -> None:
    """``report_case(duplicates=n)``: on PostgreSQL from the writing statement itself."""
    near = world.report(lon=world.lon + 0.0002)  # about 20 m east
    nearer = world.report(lon=world.lon + 0.0001)
    voided = world.report()
    actions.void_case(db, voided, actor=world.dispatcher, reason="test")
    world.report(lon=world.lon + 0.002)  # about 200 m away
    expected = find_duplicates(db, category_id=near.category_id, lon=world.lon, lat=world.lat)
    assert [d.number for d in expected] == [nearer.number, near.number]
    reported = world.reported(description="又一处垃圾", duplicates=10)
    assert reported.likely_duplicates == expected  # not itself, not the voided or far one
    assert 5 < expected[0].distance_m < 15 < expected[1].distance_m < 25
    assert all(d.reported_at.tzinfo is not None for d in expected)
    one = world.reported(description="再一处", duplicates=1)
    assert [d.number for d in one.likely_duplicates] == [reported.case.number]
    alone = world.reported(
        lon=world.lon - 0.004, lat=world.lat + 0.004, description="别处", duplicates=5
    )
    assert alone.likely_duplicates == [] and alone.case.id is not None


def test_duplicates_and_merge_keep_both_reporters_informed(db: Session, world) -> None:
    first = world.report(contact=actions.Contact(phone="13800000001"))
    second = world.report(
        contact=actions.Contact(email="a@example.org"), lon=world.lon + 0.0001, lat=world.lat
    )
    found = find_duplicates(
        db, category_id=second.category_id, lon=second.lon, lat=second.lat, exclude_id=second.id
    )
    assert [d.number for d in found] == [first.number]
    assert 0 < found[0].distance_m < 50
    far = find_duplicates(
        db,
        category_id=second.category_id,
        lon=second.lon + 0.01,
        lat=second.lat,
        exclude_id=second.id,
    )
    assert far == []
    later = find_duplicates(
        db,
        category_id=second.category_id,
        lon=second.lon,
        lat=second.lat,
        at=second.reported_at + timedelta(days=10),
        exclude_id=second.id,
    )
    assert later == []
    actions.merge_case(db, second, into=first, actor=world.dispatcher)
    assert second.state == S.MERGED and second.merged_into_id == first.id
    assert _notes(db, second, "outcome")
    with pytest.raises(Invalid):
        actions.merge_case(db, first, into=first, actor=world.dispatcher)
    world.drive(first, "register", "dispatch", "accept", "handle", "verify")
    actions.close_case(db, first, actor=world.dispatcher, outcome="Fixed the lamp.")
    told = [n for n in _notes(db, second, "outcome") if "Fixed the lamp." in n.message]
    assert len(told) == 1 and told[0].recipient_ref == second.number


def test_escalation_and_major_emergency(db: Session, world) -> None:
    case = world.report()
    assert case.level == CaseLevel.GRID
    with pytest.raises(Invalid):
        actions.escalate_case(db, case, actor=world.worker, note="")
    actions.escalate_case(db, case, actor=world.worker, note="beyond the grid")
    assert case.level == CaseLevel.VILLAGE
    assert _notes(db, case, "escalated")[0].recipient_ref == world.village
    major = world.report(category=world.major)
    assert major.level == CaseLevel.TOWNSHIP
    [note] = _notes(db, major, "major_emergency")
    assert note.recipient_kind == "office" and note.recipient_ref == "441900101" and note.urgent


def test_summons_and_acknowledgement(db: Session, world) -> None:
    case = world.drive(world.report(), "register")
    rows = actions.summon_departments(
        db, case, actor=world.dispatcher, departments=[world.dept.code, world.dept2.code]
    )
    assert len(rows) == 2
    with pytest.raises(Conflict):
        actions.summon_departments(db, case, actor=world.dispatcher, departments=[world.dept.code])
    with pytest.raises(Invalid):
        actions.summon_departments(db, case, actor=world.dispatcher, departments=["NOPE"])
    mine = next(r for r in rows if r.department_code == world.dept2.code)
    with pytest.raises(NotFound):
        actions.acknowledge_summons(db, mine, actor=world.handler)
    actions.acknowledge_summons(db, mine, actor=world.other_handler, note="on my way")
    assert mine.acknowledged_at is not None
    with pytest.raises(Conflict):
        actions.acknowledge_summons(db, mine, actor=world.other_handler)


def test_notifications_reach_hooks_only_after_commit(db: Session, world) -> None:
    from civgrid.cases import notify

    seen: list[str] = []
    hook = notify.on_notification(lambda n: seen.append(n.kind))
    try:
        case = world.report(category=world.major)
        assert seen == ["major_emergency"]
        with pytest.raises(Conflict):
            actions.close_case(db, case, actor=world.dispatcher, outcome="x")
        assert seen == ["major_emergency"]
    finally:
        notify.remove_hook(hook)


def test_reporter_source_and_resident(db: Session, world, make_user) -> None:
    resident = make_user("resident")
    case = world.report(actor=resident, source=CaseSource.PORTAL)
    assert case.reporter_user_id == resident.id
    with pytest.raises(Forbidden):
        world.report(actor=world.outsider)  # a dispatcher reporting outside their township
