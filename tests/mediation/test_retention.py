"""Dispute parties past their keeping period: pseudonymised by the retention purge, audited,
once; before the period and in a dry run nothing changes; the agreement still renders."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civgrid.audit.models import AuditEvent
from civgrid.care.service import local_today
from civgrid.db.base import utcnow
from civgrid.mediation import actions
from civgrid.mediation.agreement import agreement_pdf
from civgrid.mediation.models import Dispute, DisputeEvent, MediationAgreement, MediationSession
from civgrid.mediation.transitions import SessionOutcome
from civgrid.retention.actions import purge
from tests.mediation.conftest import ID_CARD, Med

PERIOD = timedelta(days=1095)  # the default, CIVGRID_RETENTION_DISPUTE_PARTIES_DAYS
TERMS = "李四负责维修楼板，赔偿张三800元；张三电话13800001111"


@dataclass
class Disputes:
    agreed: Dispute  # concluded past the period
    withdrawn: Dispute  # concluded past the period
    recent: Dispute  # concluded one day short of the period
    open: Dispute  # mediating for years: never concluded


def conclude(med: Med, outcome: SessionOutcome, ago: timedelta) -> Dispute:
    d = med.create()
    actions.hold_session(
        med.db,
        d.id,
        actor=med.worker,
        held_on=local_today(),
        place="村委会调解室",
        outcome=outcome,
        attendees="张三、李四、调解员",
        notes=f"张三出示身份证{ID_CARD}，李四同意维修",
        terms=TERMS if outcome == SessionOutcome.AGREEMENT else "",
    )
    when = utcnow() - ago
    med.db.execute(update(Dispute.__table__).where(Dispute.id == d.id).values(closed_at=when))
    med.db.commit()
    return d


@pytest.fixture
def disputes(med: Med) -> Disputes:
    agreed = conclude(med, SessionOutcome.AGREEMENT, PERIOD + timedelta(days=1))
    actions.attach_signed_agreement(
        med.db, agreed.id, actor=med.worker, filename="signed.pdf", content=b"%PDF-1.4 x"
    )
    withdrawn = conclude(med, SessionOutcome.WITHDRAWAL, PERIOD + timedelta(days=400))
    recent = conclude(med, SessionOutcome.AGREEMENT, PERIOD - timedelta(days=1))
    still_open = med.create()
    med.db.execute(
        update(Dispute.__table__)
        .where(Dispute.id == still_open.id)
        .values(created_at=utcnow() - 2 * PERIOD)
    )
    med.db.commit()
    med.db.expire_all()
    return Disputes(agreed, withdrawn, recent, still_open)


def texts(db: Session, d: Dispute) -> list[str]:
    """Everything about a dispute that may hold a party's name or contact."""
    db.expire_all()
    sessions = db.scalars(select(MediationSession).where(MediationSession.dispute_id == d.id))
    agreement = db.get(MediationAgreement, d.id)
    return [
        d.summary,
        *(p.name for p in d.parties),
        *(p.contact for p in d.parties),
        *(s.attendees for s in sessions),
        *(s.notes for s in sessions),
        agreement.terms if agreement else "",
    ]


def untouched(db: Session, d: Dispute) -> bool:
    found = " ".join(texts(db, d))
    return "张三" in found and "13800001111" in found and d.parties_purged_at is None


def test_nothing_is_purged_before_the_period(db: Session, disputes: Disputes) -> None:
    report = purge(db)
    assert report.counts["dispute_parties"] == 2
    assert untouched(db, disputes.recent)
    assert untouched(db, disputes.open)


def test_a_dry_run_counts_and_changes_nothing(db: Session, disputes: Disputes) -> None:
    report = purge(db, dry_run=True)
    assert report.counts["dispute_parties"] == 2
    assert all(untouched(db, d) for d in (disputes.agreed, disputes.withdrawn, disputes.recent))
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).all() == []


def test_past_the_period_the_parties_become_placeholders_once(
    db: Session, disputes: Disputes
) -> None:
    events_before = db.scalars(select(DisputeEvent.note).order_by(DisputeEvent.id)).all()
    report = purge(db)
    assert report.counts["dispute_parties"] == 2
    for d in (disputes.agreed, disputes.withdrawn):
        found = texts(db, d)
        assert [p.name for p in d.parties] == ["当事人甲", "当事人乙"]
        assert [p.contact for p in d.parties] == ["", ""]
        joined = " ".join(found)
        for personal in ("张三", "李四", "13800001111", "13800002222", ID_CARD):
            assert personal not in joined, personal
        assert d.parties_purged_at is not None
    assert "当事人甲、当事人乙、调解员" in texts(db, disputes.agreed)
    terms = db.get(MediationAgreement, disputes.agreed.id)
    assert terms is not None
    assert terms.terms == "当事人乙负责维修楼板，赔偿当事人甲800元；当事人甲电话***"
    assert terms.signed_copy == b"%PDF-1.4 x"  # the archived signed copy stays (docs/scope.md)
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).one()
    assert audit.detail["counts"]["dispute_parties"] == 2
    assert audit.detail["days"]["dispute_parties"] == 1095
    # the append-only event log is neither rewritten nor added to
    assert db.scalars(select(DisputeEvent.note).order_by(DisputeEvent.id)).all() == events_before

    assert purge(db).counts["dispute_parties"] == 0


def test_the_agreement_and_the_page_still_render_after_the_purge(
    db: Session, client: TestClient, bearer, med: Med, disputes: Disputes, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    purge(db)
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(agreement_pdf(db, med.worker, disputes.agreed))
    out = subprocess.run(  # noqa: S603
        ["/usr/bin/pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "调解协议书" in out and disputes.agreed.number in out
    assert "当事人甲" in out and "当事人乙" in out and "赔偿当事人甲800元" in out
    assert "张三" not in out
    page = client.get(f"/mediation/{disputes.agreed.id}", headers=bearer(med.worker))
    assert page.status_code == 200
    assert "当事人甲" in page.text and "张三" not in page.text
    assert "已过保存期限，当事人姓名和联系方式已于" in page.text
    served = client.get(
        f"/mediation/{disputes.agreed.id}/agreement.pdf", headers=bearer(med.leader)
    )
    assert served.status_code == 200 and served.content.startswith(b"%PDF")


def test_placeholders_cover_every_party_a_dispute_may_have() -> None:
    names = [actions.placeholder(i) for i in range(actions.MAX_PARTIES + 2)]
    assert names[:3] == ["当事人甲", "当事人乙", "当事人丙"]
    assert len(set(names)) == len(names)
