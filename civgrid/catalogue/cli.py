"""`civgrid catalogue …` commands."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from civgrid.catalogue.actions import load_catalogue
from civgrid.catalogue.models import RoutingRule
from civgrid.catalogue.service import search_categories
from civgrid.db.session import session_factory

app = typer.Typer(help="Category catalogue (事项清单).", no_args_is_help=True)
console = Console()


@app.command("load")
def load() -> None:
    """Load or refresh the national list and the grid service items (idempotent)."""
    with session_factory()() as db:
        r = load_catalogue(db)
    console.print(
        f"{r.inserted} new, {r.updated} updated; {r.time_limits} handling limits added "
        f"({r.matched_example_limits} matters matched the example city's standard)"
    )


@app.command("show")
def show(
    q: str = "", kind: str = "matter,service_item", limit: int = 50, published: bool = False
) -> None:
    """List or search categories (--published: only the published matter list)."""
    with session_factory()() as db:
        rows = search_categories(
            db, q, kinds=kind.split(","), published_only=published, limit=limit
        )
    table = Table("code", "name", "English", "class", "listed", "emergency")
    for c in rows:
        table.add_row(
            c.code,
            c.name_zh,
            c.name_en,
            c.major_name_zh,
            "✓" if c.is_published else "",
            "!" if c.is_major_emergency else "",
        )
    console.print(table)


@app.command("rules")
def rules(division: str = "") -> None:
    """List the routing rules whose jurisdiction lies inside ``--division`` (all by default)."""
    with session_factory()() as db:
        found = db.scalars(
            select(RoutingRule)
            .where(RoutingRule.division_prefix.startswith(division, autoescape=True))
            .order_by(RoutingRule.division_prefix, RoutingRule.major_code, RoutingRule.id)
        ).all()
        table = Table("id", "category or class", "jurisdiction", "department", "priority")
        for r in found:
            table.add_row(
                str(r.id),
                r.category_code or r.major_code or "",
                r.division_prefix or "*",
                f"{r.department.code} {r.department.name_zh}",
                str(r.priority),
            )
    console.print(table)
