"""The sweep escalates overdue cases one tier and flags missing summons acknowledgements."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from civgrid.cases import actions
from civgrid.cases.models import CaseEvent, CaseLevel, CaseNotification
from civgrid.cases.sweep import SweepReport, escalate_overdue, overdue_clocks, sweep
from civgrid.db.base import utcnow


def test_overdue_cases_escalate_once(db: Session, world) -> None:
    case = world.report()
    fresh = world.report()
    assert case.due_at is not None
    later = case.due_at + timedelta(minutes=1)
    report = sweep(db, now=later)
    assert case.number in report.escalated and fresh.number in report.escalated
    db.refresh(case)
    assert case.level == CaseLevel.VILLAGE
    events = list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
    assert events[-1].action.value == "escalate" and events[-1].data["automatic"] is True
    assert sweep(db, now=later).escalated == []  # the same overdue clock escalates only once
    assert sweep(db, now=utcnow()).escalated == []


def test_missing_acknowledgement_is_flagged(db: Session, world) -> None:
    case = world.drive(world.report(), "register")
    rows = actions.summon_departments(
        db, case, actor=world.dispatcher, departments=[world.dept.code, world.dept2.code]
    )
    actions.acknowledge_summons(db, rows[0], actor=world.handler)
    later = rows[1].due_at + timedelta(minutes=1)
    report = sweep(db, now=later)
    assert report.flagged_summons == [(case.number, world.dept2.code)]
    db.refresh(rows[1])
    assert rows[1].flagged_at is not None
    kinds = db.scalars(select(CaseNotification.kind).where(CaseNotification.case_id == case.id))
    assert "summons_missing" in list(kinds)
    assert sweep(db, now=later).flagged_summons == []


def test_sweep_cli_runs(engine) -> None:  # type: ignore[no-untyped-def]
    from civgrid.cli import app

    result = CliRunner().invoke(app, ["sweep"])
    assert result.exit_code == 0, result.output
    assert "escalated" in result.output


def test_the_app_runs_the_sweep_while_serving(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time

    from fastapi.testclient import TestClient

    from civgrid.cases import sweep as sweep_module
    from civgrid.config import get_settings
    from civgrid.web.app import create_app

    passes: list[int] = []
    monkeypatch.setattr(sweep_module, "sweep", lambda db: passes.append(1) or SweepReport())
    settings = get_settings()
    monkeypatch.setattr(settings, "env", "development")
    monkeypatch.setattr(settings, "sweep_interval_seconds", 0.05)
    with TestClient(create_app()):
        time.sleep(0.5)
    assert len(passes) >= 2
    count = len(passes)
    time.sleep(0.2)
    assert len(passes) == count  # stopped with the app
    monkeypatch.setattr(settings, "env", "test")
    with TestClient(create_app()):
        time.sleep(0.2)
    assert len(passes) == count  # never under CIVGRID_ENV=test


def test_two_sweeps_at_once_escalate_a_case_once(db: Session, world) -> None:
    """Two processes' sweeps find the same clocks overdue; the case still rises one tier."""
    case = world.report()
    assert case.due_at is not None
    later = case.due_at + timedelta(minutes=1)
    first, second = overdue_clocks(db, later), overdue_clocks(db, later)
    assert escalate_overdue(db, first, later) == ([case.number], [])
    assert escalate_overdue(db, second, later) == ([], [])
    db.refresh(case)
    assert case.level == CaseLevel.VILLAGE
    events = db.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id))
    assert [e.value for e in events] == ["report", "escalate"]
