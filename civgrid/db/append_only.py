"""Database triggers that make a table append-only (used by migrations for event logs)."""

from __future__ import annotations

from alembic import op


def protect(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` inside the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    # The app's role got UPDATE and DELETE on the new table by default privileges
    # (civgrid.db.roles): take them back, so that it may only read and append here.
    op.execute(
        "DO $$ DECLARE r record; BEGIN "  # noqa: S608  (table names from migrations)
        "FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants "
        f"WHERE table_schema = current_schema() AND table_name = '{table}' "
        "AND grantee <> current_user AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE') "
        f"LOOP EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM %I', r.grantee); "
        "END LOOP; END $$"
    )


def unprotect(table: str) -> None:
    """Drop the triggers that :func:`protect` created."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
