"""Running the Alembic migrations from code (CLI, `make run`, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from civgrid.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for the given database URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Fail if the models differ from what the migrations build."""
    command.check(alembic_config(url))


def grant(owner_url: str, role: str, *, password: str | None = None) -> bool:
    """Give the app's role its grants (``civgrid.db.roles``), connected as the owner."""
    from sqlalchemy import create_engine

    from civgrid.db.roles import grant_app_role

    if owner_url.startswith("postgresql://"):
        owner_url = "postgresql+psycopg://" + owner_url.removeprefix("postgresql://")
    engine = create_engine(owner_url)
    try:
        with engine.begin() as conn:
            return grant_app_role(conn, role, password=password)
    finally:
        engine.dispose()


def app_role(settings: Settings) -> str | None:
    """The app's PostgreSQL role when the app and the migrations use different roles."""
    from sqlalchemy.engine import make_url

    if not settings.migration_database_url:
        return None
    app, owner = (
        make_url(settings.effective_database_url),
        make_url(settings.migration_database_url),
    )
    if app.get_backend_name() != "postgresql" or not app.username:
        return None
    return None if app.username == owner.username else app.username
