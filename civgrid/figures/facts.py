"""Facts: what a case's append-only events, its stage clocks and its summons say happened when,
and what an inspection record says was inspected (检查) and found.

Two pure functions, :func:`case_facts` (one case's log) and :func:`inspection_facts` (one
inspection record), turn the data into dated facts; the raw computation and the rollups both
count their output, so they cannot disagree on a definition.
A fact is dated by its event's instant, or by the deadline of the clock or summons it is about,
so a figure for a closed period never changes when the case moves later (docs/figures.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civgrid.calendar.units import Light, TimeUnit
from civgrid.calendar.workcalendar import WorkCalendar
from civgrid.figures.indicators import CLOSE_HOURS_PREFIX

# The action that completes each stage's clock (any other ending is not a completion).
COMPLETES: dict[str, frozenset[str]] = {
    "register": frozenset({"register", "reject", "self_handle", "merge"}),
    "dispatch": frozenset({"dispatch"}),
    "handle": frozenset({"handle"}),
    "verify": frozenset({"verify_pass", "verify_fail"}),
    "close": frozenset({"close"}),
}
LOW_LEVELS = frozenset({"grid", "village"})


@dataclass(frozen=True)
class CaseRow:
    id: int
    territory_code: str
    category_id: int
    level: str  # the case's level now; the level at each moment is replayed from escalations


@dataclass(frozen=True)
class EventRow:
    case_id: int
    at: datetime
    action: str
    from_state: str | None
    actor_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class ClockRow:
    case_id: int
    stage: str
    started_at: datetime
    due_at: datetime
    finished_at: datetime | None
    unit: str


@dataclass(frozen=True)
class SummonsRow:
    case_id: int
    department_code: str
    due_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class Fact:
    at: datetime
    part: str
    territory_code: str
    category_id: int
    department_code: str = ""
    worker_id: int = 0


@dataclass(frozen=True)
class InspectionRow:
    """One inspection record as the figures read it: when, where, by whom, what it found."""

    inspected_at: datetime
    grid_code: str
    inspector_id: int | None
    failed_items: int
    cases_opened: int


def inspection_facts(row: InspectionRow) -> list[Fact]:
    """The facts of one inspection, all dated at its time: done, failed, cases it opened.

    A record is written once and never edited (the cases of its failed items are linked as it
    is written), so these facts never change. Category 0 and no department: an inspection is
    the grid's and its inspector's work, not a category's or a department's.
    """
    parts = ["inspected"]
    if row.failed_items > 0:
        parts.append("inspection_failed")
    parts += ["inspection_cases"] * row.cases_opened
    worker = row.inspector_id or 0
    return [Fact(row.inspected_at, p, row.grid_code, 0, "", worker) for p in parts]


def _initial_level(case: CaseRow, events: Sequence[EventRow]) -> str:
    for e in events:
        if e.action == "escalate":
            return str(e.data.get("from_level", case.level))
    return case.level


def _department_at(dispatches: list[tuple[datetime, str]], at: datetime) -> str:
    found = ""
    for when, code in dispatches:
        if when <= at:
            found = code
    return found


def effective_due(c: ClockRow, events: Sequence[EventRow]) -> datetime:
    """The clock's deadline as extended by approvals made before it passed (延期).

    An extension approved after the deadline had passed does not undo the overrun, so a period
    that is over never changes.
    """
    due: datetime | None = None
    for e in events:
        if e.action != "approve_extension" or e.at < c.started_at:
            continue
        if c.finished_at is not None and e.at >= c.finished_at:
            break
        old, new = e.data.get("old_due"), e.data.get("new_due")
        if due is None:
            due = datetime.fromisoformat(old) if old else c.due_at
        if new and e.at <= due:
            due = datetime.fromisoformat(new)
    return c.due_at if due is None else due


def case_facts(
    case: CaseRow,
    events: Sequence[EventRow],
    clocks: Sequence[ClockRow],
    summons: Sequence[SummonsRow],
    calendar: WorkCalendar,
    now: datetime,
) -> list[Fact]:
    """Every fact of one case known at ``now``; events in log order."""
    out: list[Fact] = []
    clocks = [replace(c, due_at=effective_due(c, events)) for c in clocks]

    def fact(at: datetime, part: str, department: str = "", worker: int | None = 0) -> None:
        out.append(Fact(at, part, case.territory_code, case.category_id, department, worker or 0))

    ended_by = {e.at: e.action for e in events if e.action != "report"}
    dispatches = [
        (e.at, str(e.data.get("department") or "")) for e in events if e.action == "dispatch"
    ]
    late_until: list[datetime] = []  # when a stage clock of the case overran its deadline
    for c in clocks:
        if c.due_at <= now and (c.finished_at is None or c.finished_at > c.due_at):
            late_until.append(c.due_at)
    handle_late = [c.due_at for c in clocks if c.stage == "handle" and c.due_at in late_until]
    clock_at = {(c.stage, c.finished_at): c for c in clocks if c.finished_at is not None}

    level = _initial_level(case, events)
    reporter = 0
    reported_at: datetime | None = None
    for e in events:
        dept = _department_at(dispatches, e.at)
        if e.action == "report":
            reporter, reported_at = e.actor_id or 0, e.at
            fact(e.at, "reported", worker=reporter)
        elif e.action == "register":
            fact(e.at, "valid", worker=reporter)
            fact(e.at, "registered")
            done = clock_at.get(("register", e.at))
            if done is not None and e.at <= done.due_at:
                fact(e.at, "registered_on_time")
        elif e.action == "void" and e.from_state != "reported":
            fact(e.at, "voided")
        elif e.action == "dispatch":
            fact(e.at, "dispatched", dept)
            done = clock_at.get(("dispatch", e.at))
            if done is not None and e.at <= done.due_at:
                fact(e.at, "dispatched_on_time", dept)
        elif e.action == "verify_fail":
            fact(e.at, "reworked", dept, e.actor_id)
        elif e.action == "escalate":
            level = str(e.data.get("to_level", level))
        elif e.action in ("close", "self_handle"):
            if e.action == "self_handle":
                fact(e.at, "valid", worker=reporter)
            worker = e.actor_id if e.action == "self_handle" else 0
            if not any(d < e.at for d in handle_late):  # else counted due at that deadline
                fact(e.at, "should_close", dept, worker)
            fact(e.at, "closed", dept, worker)
            if not any(d < e.at for d in late_until):
                fact(e.at, "closed_on_time", dept, worker)
            if level in LOW_LEVELS:
                fact(e.at, "closed_low", dept, worker)
            if reported_at is not None:
                hours = calendar.working_time_between(reported_at, e.at).total_seconds() / 3600
                fact(e.at, f"{CLOSE_HOURS_PREFIX}{math.ceil(round(hours, 6))}", dept, worker)
        elif e.action == "evaluate":
            fact(e.at, "rated", dept)
            if int(e.data.get("rating", 0)) >= 4:
                fact(e.at, "satisfied", dept)

    for c in clocks:
        out.extend(_clock_facts(case, c, ended_by, dispatches, events, now))
    for s in summons:
        fact(s.due_at, "summoned", s.department_code)
        if s.acknowledged_at is not None and s.acknowledged_at <= s.due_at:
            fact(s.due_at, "summons_on_time", s.department_code)
    return out


def _clock_facts(
    case: CaseRow,
    c: ClockRow,
    ended_by: dict[datetime, str],
    dispatches: list[tuple[datetime, str]],
    events: Sequence[EventRow],
    now: datetime,
) -> Iterable[Fact]:
    """Facts dated at a clock's deadline: due (应处置/应核查), on time, overdue (超期)."""
    completed = c.finished_at is not None and ended_by.get(c.finished_at) in COMPLETES[c.stage]
    running_at_due = c.finished_at is None or c.finished_at > c.due_at
    dept = _department_at(dispatches, c.started_at) if c.stage == "handle" else ""
    worker = 0
    if c.stage == "verify" and completed:
        worker = next((e.actor_id or 0 for e in events if e.at == c.finished_at), 0)
    facts: list[str] = []
    counted = completed or running_at_due  # ended early by 挂账, void or return: not due
    if counted and c.stage in ("handle", "verify"):
        facts.append(f"should_{c.stage}")
        if completed and not running_at_due:
            facts.append("handled_on_time" if c.stage == "handle" else "verified_on_time")
    if c.due_at <= now and running_at_due:
        facts.append("overdue")
        if c.stage == "handle":  # not handled by its deadline: due for closing then
            facts.append("should_close")
    return [Fact(c.due_at, p, case.territory_code, case.category_id, dept, worker) for p in facts]


def light_at(calendar: WorkCalendar, c: ClockRow, at: datetime) -> Light | None:
    """The light of a clock running at ``at``, None if it was not running."""
    if c.started_at > at or (c.finished_at is not None and c.finished_at <= at):
        return None

    return calendar.light(c.started_at, c.due_at, at, TimeUnit(c.unit))
