"""retention: photo originals' location removal, and the audit log's one allowed rewrite

The audit log stays append-only with one exception, for the retention purge
(civgrid.retention): an event's ``ip`` may be replaced by its keyed hash (``h:`` and 16 hex
digits), and a failed login's ``detail`` may lose the typed ``username``. Every other
column, and every other change, is still refused by the trigger.

Revision ID: 0019_retention
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0019_retention"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOGIN_ACTIONS = "('login.failed', 'login.throttled')"
UNCHANGED = ("id", "at", "actor_id", "actor_label", "action", "object_type", "object_id")

SQLITE_ALLOWED = (
    " AND ".join(f"NEW.{c} IS OLD.{c}" for c in UNCHANGED)
    + " AND (NEW.ip IS OLD.ip OR (length(NEW.ip) = 18 AND NEW.ip GLOB 'h:"
    + "[0-9a-f]" * 16
    + "'))"
    + " AND (NEW.detail IS OLD.detail OR json(NEW.detail) = json(OLD.detail)"
    + f" OR (OLD.action IN {LOGIN_ACTIONS}"
    + " AND json(NEW.detail) = json_remove(OLD.detail, '$.username')))"
)

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND ({", ".join(f"NEW.{c}" for c in UNCHANGED)})
         IS NOT DISTINCT FROM ({", ".join(f"OLD.{c}" for c in UNCHANGED)})
     AND (NEW.ip = OLD.ip OR NEW.ip ~ '^h:[0-9a-f]{{16}}$')
     AND (NEW.detail::jsonb = OLD.detail::jsonb
          OR (OLD.action IN {LOGIN_ACTIONS}
              AND NEW.detail::jsonb = OLD.detail::jsonb - 'username'))
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END $$
"""

PG_ORIGINAL = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$
"""

SQLITE_ORIGINAL = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def upgrade() -> None:
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "location_removed_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            f"WHEN NOT ({SQLITE_ALLOWED}) "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
    else:
        op.execute(PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute(SQLITE_ORIGINAL)
    else:
        op.execute(PG_ORIGINAL)
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_column("location_removed_at")
