"""`civgrid purge`: the retention purge by hand, with a table of what it removed."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from civgrid.retention.actions import KINDS, PurgeReport


def run_purge(console: Console, *, dry_run: bool) -> PurgeReport:
    """Run (or count) the purge on the configured database and print a table per kind."""
    from civgrid.config import get_settings
    from civgrid.db.session import session_factory
    from civgrid.retention.actions import purge

    with session_factory()() as db:
        report = purge(db, dry_run=dry_run)
    settings = get_settings()
    title = "would remove (dry run: nothing changed)" if dry_run else "removed"
    table = Table(title=f"retention purge: {title}")
    table.add_column("kind")
    table.add_column("setting")
    table.add_column("days", justify="right")
    table.add_column("count", justify="right")
    for kind in KINDS:
        table.add_row(
            kind.name,
            f"CIVGRID_{kind.setting.upper()}",
            str(kind.days(settings)),
            str(report.counts[kind.name]),
        )
    console.print(table)
    return report
