"""Disputes through the tiers: sessions, escalation with reasons, agreement, referral, figures."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import func, select, text

from civgrid.care.service import local_today
from civgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civgrid.mediation import actions, service
from civgrid.mediation.agreement import agreement_pdf
from civgrid.mediation.models import Dispute, DisputeEvent, DisputeKind
from civgrid.mediation.transitions import (
    TRANSITIONS,
    DisputeAction,
    DisputeState,
    Referral,
    SessionOutcome,
    Tier,
    allowed_actions,
    target,
)
from tests.mediation.conftest import ID_CARD, Med


def _agree(
    med: Med, dispute_id: int, actor=None, terms: str = "李四负责维修楼板，赔偿张三800元"
) -> None:  # type: ignore[no-untyped-def]
    actions.hold_session(
        med.db,
        dispute_id,
        actor=actor or med.worker,
        held_on=local_today(),
        place="村委会调解室",
        outcome=SessionOutcome.AGREEMENT,
        attendees="张三、李四",
        terms=terms,
    )


def test_a_dispute_starts_at_the_grid_tier_with_a_working_day_deadline(med: Med) -> None:
    d = med.create()
    assert d.state == DisputeState.MEDIATING
    assert d.tier == Tier.GRID
    assert d.number.startswith("TJ441900101")
    assert d.tier_due_at is not None and d.tier_due_at > d.tier_started_at
    assert [p.name for p in d.parties] == ["张三", "李四"]


def test_dispute_numbers_come_from_a_counter_row(med: Med) -> None:
    """Two desks registering at once must not both read the same highest number."""
    first, second = med.create(), med.create()
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1
    prefix = first.number[:-4]
    row = med.db.execute(
        text("SELECT last FROM case_number_counters WHERE prefix = :p"), {"p": prefix}
    ).scalar_one()
    assert row == int(second.number[-4:])


def test_bad_input_is_refused_and_nothing_is_stored(med: Med) -> None:
    with pytest.raises(Invalid, match="party"):
        med.create(parties=[actions.Party("  ", "")])
    with pytest.raises(Invalid, match="summary"):
        med.create(summary=" ")
    with pytest.raises(NotFound):
        med.create(actor=med.outside_leader)
    with pytest.raises(Forbidden):
        med.create(actor=med.handler)
    assert med.db.scalar(select(func.count()).select_from(Dispute)) == 0


def test_escalation_moves_up_with_a_reason_and_the_event_note_is_masked(med: Med) -> None:
    d = med.create()
    with pytest.raises(Invalid, match="mediator"):
        actions.escalate_dispute(med.db, d.id, actor=med.worker, reason="双方分歧大")
    actions.escalate_dispute(
        med.db, d.id, actor=med.worker, reason=f"双方分歧大 {ID_CARD}", mediator=med.leader
    )
    assert (d.tier, d.mediator_id) == (Tier.VILLAGE, med.leader.id)
    note = med.db.scalars(
        select(DisputeEvent.note).where(DisputeEvent.action == DisputeAction.ESCALATE)
    ).one()
    assert ID_CARD not in note and "440101" in note
    with pytest.raises(Invalid, match="reason"):
        actions.escalate_dispute(med.db, d.id, actor=med.leader, reason="")


def test_actions_at_the_wrong_tier_are_refused(med: Med) -> None:
    d = med.create()
    with pytest.raises(Conflict, match="grid tier"):
        actions.refer_dispute(med.db, d.id, actor=med.worker, to=Referral.COURT, reason="不成")
    actions.escalate_dispute(med.db, d.id, actor=med.worker, reason="不成", mediator=med.leader)
    actions.escalate_dispute(med.db, d.id, actor=med.leader, reason="不成", mediator=med.dispatcher)
    with pytest.raises(Conflict, match="township tier"):
        actions.escalate_dispute(med.db, d.id, actor=med.dispatcher, reason="不成")
    with pytest.raises(Forbidden, match="township"):
        # the village leader still sees it (territory) but does not mediate at the township
        actions.hold_session(
            med.db, d.id, actor=med.leader, held_on=local_today(), place="x", outcome="continued"
        )
    actions.refer_dispute(med.db, d.id, actor=med.dispatcher, to=Referral.COURT, reason="调解不成")
    assert (d.state, d.tier, d.referral) == (DisputeState.REFERRED, Tier.JUDICIAL, Referral.COURT)
    with pytest.raises(Conflict, match="referred"):
        _agree(med, d.id, actor=med.dispatcher)


def test_agreement_follow_up_and_signed_copy(med: Med) -> None:
    d = med.create()
    with pytest.raises(Invalid, match="terms"):
        _agree(med, d.id, terms="")
    assert d.state == DisputeState.MEDIATING
    _agree(med, d.id)
    assert d.state == DisputeState.AGREED and d.agreed_at is not None
    actions.attach_signed_agreement(
        med.db, d.id, actor=med.worker, filename="signed.pdf", content=b"%PDF-1.4 x"
    )
    actions.follow_up(med.db, d.id, actor=med.worker, carried_out=True, note="已修好")
    assert d.state == DisputeState.FULFILLED
    with pytest.raises(Conflict):
        actions.follow_up(med.db, d.id, actor=med.worker, carried_out=True)


def test_the_agreement_pdf_has_the_chinese_text(med: Med, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = med.create()
    _agree(med, d.id)
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(agreement_pdf(med.db, med.worker, d))
    out = subprocess.run(  # noqa: S603
        ["/usr/bin/pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "调解协议书" in out
    assert "张三" in out and "李四" in out
    assert "赔偿张三800元" in out
    assert d.number in out


def test_id_numbers_are_masked_beyond_the_mediator(med: Med) -> None:
    d = med.create()
    assert ID_CARD in service.shown(med.worker, d, d.summary)
    assert ID_CARD not in service.shown(med.leader, d, d.summary)
    parties = service.parties_for(med.db, med.leader, d, purpose="test")
    assert parties[0].contact == "138****1111"
    logged = med.db.execute(
        text("SELECT count(*) FROM audit_events WHERE action = 'personal_data.read'")
    ).scalar()
    assert logged == 1


def test_figures_by_kind_and_tier_success_and_grassroots_rates(med: Med) -> None:
    a = med.create()
    _agree(med, a.id)
    b = med.create(kind=DisputeKind.PROPERTY)
    actions.escalate_dispute(med.db, b.id, actor=med.worker, reason="x", mediator=med.leader)
    actions.escalate_dispute(med.db, b.id, actor=med.leader, reason="x", mediator=med.dispatcher)
    actions.refer_dispute(med.db, b.id, actor=med.dispatcher, to="arbitration", reason="x")
    med.create(kind=DisputeKind.FAMILY)
    f = service.figures(med.db, med.dispatcher)
    assert f.total == 3
    assert f.by_kind_and_tier[(DisputeKind.NEIGHBOUR, Tier.GRID)] == 1
    assert f.by_kind_and_tier[(DisputeKind.PROPERTY, Tier.JUDICIAL)] == 1
    assert (f.concluded, f.agreed, f.referred) == (2, 1, 1)
    assert f.success_rate == 0.5
    assert f.grassroots_rate == 0.5
    assert f.days_to_agreement == 0.0


def test_the_table_refuses_what_it_does_not_list() -> None:
    assert DisputeAction.REFER in allowed_actions(DisputeState.MEDIATING, Tier.TOWNSHIP)
    assert DisputeAction.REFER not in allowed_actions(DisputeState.MEDIATING, Tier.GRID)
    for state in DisputeState:
        for tier in Tier:
            for action, rule in TRANSITIONS.items():
                if state in rule.sources and tier in rule.tiers:
                    target(action, state, tier)
                else:
                    with pytest.raises(Conflict):
                        target(action, state, tier)


def test_a_dispute_from_a_portal_case_takes_its_place_and_summary(med: Med) -> None:
    from civgrid.cases.actions import report_case
    from civgrid.cases.models import CaseSource
    from tests.cases import factories

    category = factories._category(med.db, "GT201", "邻里纠纷")
    case = report_case(
        med.db,
        source=CaseSource.PORTAL,
        category=category,
        lon=factories.LON,
        lat=factories.LAT,
        description="邻居装修噪音到深夜",
    ).case
    d = med.create(case=case, summary="", territory_code="")
    assert (d.case_id, d.territory_code, d.summary) == (
        case.id,
        case.territory_code,
        case.description,
    )
    with pytest.raises(NotFound):
        med.create(actor=med.outside_leader, case=case)
