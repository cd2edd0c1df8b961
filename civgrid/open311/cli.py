"""`civgrid open311 …` commands: issue, list and revoke API keys."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from civgrid.db.session import session_factory
from civgrid.errors import CivgridError
from civgrid.open311 import actions, service

app = typer.Typer(help="Open311 GeoReport v2 API clients.", no_args_is_help=True)
console = Console()


@app.command("add-client")
def add_client(name: str) -> None:
    """Issue an API key to an outside system; the key is printed this once only."""
    with session_factory()() as db:
        try:
            client, key = actions.issue_client(db, name=name, actor=None)
        except CivgridError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    console.print(f"Open311 client {client.name!r} (id {client.id}). Its api_key, shown once:")
    print(key)  # plain, on its own line, so that scripts can capture it


@app.command("clients")
def list_clients() -> None:
    """List the clients and whether their keys are revoked."""
    with session_factory()() as db:
        rows = service.list_clients(db)
    table = Table("id", "name", "key starts", "issued", "revoked", "last used")
    for c in rows:
        table.add_row(
            str(c.id),
            c.name,
            c.key_hint + "…",
            f"{c.created_at:%Y-%m-%d}",
            f"{c.revoked_at:%Y-%m-%d}" if c.revoked_at else "",
            f"{c.last_used_at:%Y-%m-%d %H:%M}" if c.last_used_at else "",
        )
    console.print(table)


@app.command("revoke-client")
def revoke_client(client_id: int) -> None:
    """Revoke a client's key: new requests with it are refused (403)."""
    with session_factory()() as db:
        try:
            client = actions.revoke_client(db, service.get_client(db, client_id), actor=None)
        except CivgridError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    console.print(f"revoked the key of {client.name!r}")
