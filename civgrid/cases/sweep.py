"""The sweep: escalate overdue cases one tier, flag missing summons acknowledgements, close
patrols left open past their day and purge old patrol points (``civgrid.workforce``), and
remove personal data past its keeping period (``civgrid.retention``).

Runs as ``civgrid sweep`` and, while serving, every ``Settings.sweep_interval_seconds`` in
the application's lifespan. Each case is handled in its own transaction through the real
``escalate_case`` action, so a sweep racing a dispatcher simply loses (409) and moves on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.cases import notify
from civgrid.cases.actions.branches import escalate_case, office_code
from civgrid.cases.models import Case, CaseClock, CaseLevel, CaseSummons
from civgrid.cases.transitions import ACTIVE
from civgrid.db.base import utcnow
from civgrid.db.session import hold_write_lock
from civgrid.errors import CivgridError
from civgrid.retention.actions import purge
from civgrid.workforce.actions import expire_clearances
from civgrid.workforce.patrols import local_day, sweep_patrols

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    escalated: list[str] = field(default_factory=list)
    overdue_at_top: list[str] = field(default_factory=list)
    flagged_summons: list[tuple[str, str]] = field(default_factory=list)
    patrols: dict[str, list[int]] = field(default_factory=dict)  # auto-closed, purged
    retention: dict[str, int] = field(default_factory=dict)  # removed per kind

    def as_dict(self) -> dict[str, object]:
        return {
            "escalated": self.escalated,
            "overdue_at_top": self.overdue_at_top,
            "flagged_summons": [list(x) for x in self.flagged_summons],
            "patrols": self.patrols,
            "retention": self.retention,
        }


def sweep(db: Session, *, now: datetime | None = None) -> SweepReport:
    """One pass over overdue clocks and late summons; returns what it did."""
    now = now or utcnow()
    report = SweepReport()
    report.escalated, report.overdue_at_top = escalate_overdue(db, overdue_clocks(db, now), now)
    report.flagged_summons = _flag_summons(db, now)
    report.patrols = sweep_patrols(db, now=now)
    report.patrols["uncleared"] = expire_clearances(db, local_day(now))
    report.retention = purge(db, now=now).counts
    return report


def overdue_clocks(db: Session, now: datetime) -> list[tuple[int, int]]:
    """(case id, clock id) of the running clocks past their deadline, not yet escalated."""
    overdue = db.execute(
        select(Case.id, CaseClock.id)
        .join(CaseClock, CaseClock.case_id == Case.id)
        .where(
            CaseClock.finished_at.is_(None),
            CaseClock.escalated_at.is_(None),
            CaseClock.due_at < now,
            Case.state.in_(ACTIVE),
        )
        .order_by(CaseClock.due_at)
    ).all()
    db.rollback()
    return [(case_id, clock_id) for case_id, clock_id in overdue]


def escalate_overdue(
    db: Session, overdue: list[tuple[int, int]], now: datetime
) -> tuple[list[str], list[str]]:
    """Escalate each case one tier (or flag it at the top tier); the numbers of each kind."""
    escalated: list[str] = []
    at_top: list[str] = []
    for case_id, clock_id in overdue:
        case = db.get(Case, case_id)
        if case is None:  # pragma: no cover
            continue
        if not _still_overdue(db, clock_id):
            db.rollback()  # escalated meanwhile by another process's sweep, or finished
            continue
        try:
            if case.level.higher() is None:
                _overdue_at_top(db, case, clock_id, now)
                at_top.append(case.number)
            else:
                escalate_case(db, case, actor=None, note="超时自动升级", automatic=True)
                escalated.append(case.number)
        except CivgridError as exc:  # changed meanwhile by someone else: next sweep sees it
            log.info("sweep skipped %s: %s", case.number, exc.message)
    return escalated, at_top


def _still_overdue(db: Session, clock_id: int) -> bool:
    """Whether the clock is still running and not escalated, locked until this transaction ends.

    Every serving process may run the sweep (docs/architecture.md): a second pass that listed
    the same clock must not escalate its case a second tier once the first has committed.
    """
    hold_write_lock(db)
    clock = db.get(CaseClock, clock_id, with_for_update=True, populate_existing=True)
    return clock is not None and clock.escalated_at is None and clock.finished_at is None


def _overdue_at_top(db: Session, case: Case, clock_id: int, now: datetime) -> None:
    clock = db.get(CaseClock, clock_id, with_for_update=True)
    if clock is None or clock.escalated_at is not None:
        return
    clock.escalated_at = now
    notify.queue(
        db,
        case,
        "overdue",
        recipient_kind="office",
        recipient_ref=office_code(case, CaseLevel.COUNTY),
        message=f"案件 {case.number} 已超时（已在最高层级）",
        urgent=True,
    )
    notify.commit(db)


def _flag_summons(db: Session, now: datetime) -> list[tuple[str, str]]:
    """Mark summons not acknowledged in time and tell the dispatching office."""
    late = db.execute(
        select(CaseSummons, Case)
        .join(Case, Case.id == CaseSummons.case_id)
        .where(
            CaseSummons.acknowledged_at.is_(None),
            CaseSummons.flagged_at.is_(None),
            CaseSummons.due_at < now,
        )
        .with_for_update(of=CaseSummons, skip_locked=True)
    ).all()
    flagged = []
    for summons, case in late:
        summons.flagged_at = now
        notify.queue(
            db,
            case,
            "summons_missing",
            recipient_kind="office",
            recipient_ref=case.division_code[:9],
            message=f"吹哨未报到：{summons.department_code}，案件 {case.number}",
            urgent=True,
        )
        flagged.append((case.number, summons.department_code))
    notify.commit(db)
    return flagged


async def run_periodically(interval_seconds: float) -> None:
    """The in-process sweep while serving: one pass per interval, in a worker thread."""
    from civgrid.db.session import session_factory

    def one_pass() -> SweepReport:
        with session_factory()() as db:
            return sweep(db)

    while True:
        await asyncio.sleep(interval_seconds)
        try:
            result = await asyncio.to_thread(one_pass)
            busy = result.escalated or result.flagged_summons or result.overdue_at_top
            if busy or any(result.retention.values()):
                log.info("sweep: %s", result.as_dict())
        except Exception:  # the loop must survive a failing pass (database restart …)
            log.exception("sweep pass failed")
