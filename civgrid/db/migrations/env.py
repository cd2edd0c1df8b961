"""Alembic environment: civgrid's metadata, the configured URL, batch mode on SQLite."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

import civgrid.db.models  # noqa: F401  (loads every table)
from civgrid.config import get_settings
from civgrid.db.base import Base, EnumText
from civgrid.db.session import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().effective_migration_database_url


def run_migrations() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(url)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes EnumText columns as the plain strings they are in the database."""
    if type_ == "type" and isinstance(obj, EnumText):
        return f"sa.String(length={getattr(obj.impl_instance, 'length', None)})"
    return False


# Built by migrations on PostgreSQL only, outside the models (expression indexes: on an
# extension's type, on the clocks' time ranges): not a difference between the models and
# the database.
POSTGRESQL_ONLY_INDEXES = {"ix_cases_nearby", "ix_case_clocks_running"}


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, _to: Any) -> bool:
    return not (type_ == "index" and reflected and name in POSTGRESQL_ONLY_INDEXES)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
