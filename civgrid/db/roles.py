"""The application's least-privilege role on PostgreSQL (`civgrid db grant`).

Migrations run as the owner of the tables (``Settings.migration_database_url``); the app runs
as a role that owns nothing (``Settings.database_url``). An owner may always truncate its
tables, disable their triggers or alter them, so only a role that owns no table can be held
to the append-only rule. The app role gets:

- ``SELECT, INSERT, UPDATE, DELETE`` on ordinary tables, ``USAGE, SELECT, UPDATE`` on
  sequences (the same, by default privileges, for the tables a later migration creates);
- ``SELECT, INSERT`` only on append-only tables (those with an ``<table>_append_only``
  trigger, see ``civgrid.db.append_only``), plus ``UPDATE`` of the columns in
  :data:`PURGEABLE_COLUMNS`, which the retention purge rewrites (the trigger checks how);
- ``SELECT`` only on ``alembic_version``; never ``TRUNCATE``, ``REFERENCES``, ``TRIGGER``,
  ownership, superuser or ``CREATE`` on the schema. ``session_replication_role`` is a
  superuser setting, so the role cannot switch the triggers off either.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from civgrid.errors import Invalid

# Columns of append-only tables the retention purge may rewrite (civgrid.retention): the audit
# log's address (to a keyed hash) and its detail (a typed username dropped). The table's
# trigger allows only that; every other column stays as written.
PURGEABLE_COLUMNS: dict[str, tuple[str, ...]] = {"audit_events": ("ip", "detail")}

_APPEND_ONLY = text(
    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND t.tgname = c.relname || '_append_only' "
    "ORDER BY c.relname"
)


def append_only_tables(conn: Connection) -> list[str]:
    """The tables protected by an append-only trigger in the current schema."""
    return list(conn.scalars(_APPEND_ONLY))


def grant_app_role(conn: Connection, role: str, *, password: str | None = None) -> bool:
    """Create ``role`` if missing (needs CREATEROLE) and give it the app's grants; run as owner.

    Returns whether the role was created. Idempotent: running it again after a migration
    brings the grants up to date.
    """
    if conn.dialect.name != "postgresql":
        raise Invalid("database roles exist on PostgreSQL only; SQLite has no roles")
    if role == conn.scalar(text("SELECT current_user")):
        raise Invalid(f"{role} is the owner (this connection's user); name another role")
    q = conn.dialect.identifier_preparer.quote(role)
    row = conn.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    created = row is None
    if row is None:
        conn.execute(text(f"CREATE ROLE {q} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"))
    elif row.rolsuper or row.rolbypassrls:
        raise Invalid(f"{role} is a superuser or bypasses row security; the app needs less")
    if password:
        literal = password.replace("'", "''")
        conn.execute(text(f"ALTER ROLE {q} PASSWORD '{literal}'"))
    database = conn.dialect.identifier_preparer.quote(
        conn.scalar(text("SELECT current_database()"))
    )
    schema = conn.dialect.identifier_preparer.quote(conn.scalar(text("SELECT current_schema()")))
    for statement in (
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {q}",
        f"GRANT USAGE ON SCHEMA {schema} TO {q}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {q}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {q}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {q}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {q}",
    ):
        conn.execute(text(statement))
    if conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")):
        conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {q}"))
    for table in append_only_tables(conn):
        conn.execute(text(f"REVOKE UPDATE, DELETE ON {table} FROM {q}"))
        columns = PURGEABLE_COLUMNS.get(table)
        if columns:
            conn.execute(text(f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {q}"))
    return created
