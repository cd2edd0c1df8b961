"""The `civgrid` command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from civgrid.calendar.cli import app as calendar_app
from civgrid.catalogue.cli import app as catalogue_app
from civgrid.config import get_settings
from civgrid.divisions.cli import app as divisions_app
from civgrid.figures.cli import app as figures_app
from civgrid.grids.cli import app as grids_app
from civgrid.ledger.cli import app as ledger_app
from civgrid.open311.cli import app as open311_app
from civgrid.planning.cli import propose as propose_grids
from civgrid.workforce.cli import app as workforce_app

app = typer.Typer(help="civgrid: grid-based community service management.", no_args_is_help=True)
app.add_typer(divisions_app, name="divisions")
app.add_typer(calendar_app, name="calendar")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(grids_app, name="grids")
app.add_typer(ledger_app, name="ledger")
app.add_typer(open311_app, name="open311")
app.add_typer(figures_app, name="figures")
app.add_typer(workforce_app, name="workforce")
grids_app.command("propose")(propose_grids)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
demo_app = typer.Typer(help="The demo district.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
console = Console()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations as the owner (CIVGRID_MIGRATION_DATABASE_URL, else the app's URL);
    on PostgreSQL with two URLs, then bring the app role's grants up to date."""
    from civgrid.db.migrate import app_role, grant, upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    owner_url = settings.effective_migration_database_url
    upgrade(owner_url, revision)
    console.print(f"database at {revision}: {_safe_url(owner_url)}")
    role = app_role(settings)
    if role:
        grant(owner_url, role)
        console.print(f"grants of the app role [bold]{role}[/bold] brought up to date")


@db_app.command("grant")
def db_grant(
    role: Annotated[str, typer.Option(help="the app's database role (created if missing)")],
    password: Annotated[
        str | None, typer.Option(help="set the role's password", envvar="CIVGRID_ROLE_PASSWORD")
    ] = None,
) -> None:
    """Create the app's PostgreSQL role if missing and grant it only what the app needs:
    read and append on append-only tables, no ownership (run as the owner)."""
    from civgrid.db.migrate import grant

    url = get_settings().effective_migration_database_url
    created = grant(url, role, password=password)
    console.print(
        f"role [bold]{role}[/bold] {'created and ' if created else ''}granted on {_safe_url(url)}"
    )


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be removed; change nothing")
    ] = False,
) -> None:
    """Remove personal data past its keeping period (reporter contacts, failed logins,
    audit-log addresses, photo locations); the sweep runs the same purge."""
    from civgrid.retention.cli import run_purge

    run_purge(console, dry_run=dry_run)


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo district and the demo users (idempotent)."""
    from civgrid.db.session import session_factory
    from civgrid.demo import DEMO_PASSWORD, load_demo

    with session_factory()() as db:
        users = load_demo(db, console=console)
    console.print(f"demo logins (password [bold]{DEMO_PASSWORD}[/bold]):")
    for username, role in users:
        console.print(f"  {username:<12} {role}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
) -> None:
    """Serve the web application."""
    import uvicorn

    console.print(f"civgrid at [bold]http://{host}:{port}/[/bold]  (API docs: /docs)")
    uvicorn.run("civgrid.web.app:create_app", factory=True, host=host, port=port)


@app.command()
def sweep() -> None:
    """One pass of the case sweep: escalate overdue cases, flag missing summons (吹哨报到),
    bring the figures' rollups up to today."""
    from civgrid.cases.cli import run_sweep
    from civgrid.figures.cli import refresh_rollups

    run_sweep(console)
    refresh_rollups(console)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """The ``civgrid`` entry point: known failures end with a message, not a traceback."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from civgrid.errors import CivgridError

    try:
        app()
    except (OperationalError, ProgrammingError) as exc:
        console.print(f"[red]database error:[/red] {exc.orig}")
        console.print(
            f"database: {_safe_url(get_settings().effective_database_url)} - is it running, "
            "and migrated? Run `civgrid db upgrade` first."
        )
        raise SystemExit(1) from None
    except CivgridError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
