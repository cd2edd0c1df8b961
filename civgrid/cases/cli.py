"""`civgrid sweep`: one pass of overdue escalation and summons flags."""

from __future__ import annotations

import json

from rich.console import Console


def run_sweep(console: Console) -> None:
    """Run one sweep on the configured database and print what it did."""
    from civgrid.cases.sweep import sweep
    from civgrid.db.session import session_factory

    with session_factory()() as db:
        report = sweep(db)
    console.print(
        f"escalated {len(report.escalated)}, overdue at the top tier "
        f"{len(report.overdue_at_top)}, summons flagged {len(report.flagged_summons)}"
    )
    console.print_json(json.dumps(report.as_dict()))
