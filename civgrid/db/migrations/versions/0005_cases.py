"""cases: cases, events, stage clocks, summons, attachments, notifications, number counters

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base
from civgrid.db.append_only import protect, unprotect

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_number_counters",
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_case_number_counters")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_before_suspension", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("grid_code", sa.String(length=16), nullable=True),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_phone", sa.String(length=30), nullable=True),
        sa.Column("reporter_email", sa.String(length=120), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("extension_amount", sa.Float(), nullable=True),
        sa.Column("extension_reason", sa.String(length=500), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=True),
        sa.Column("stage_started_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_unit", sa.String(length=20), nullable=True),
        sa.Column("reported_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("registered_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_cases_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_cases_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["cases.id"], name=op.f("fk_cases_merged_into_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"], ["users.id"], name=op.f("fk_cases_reporter_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_category_id_reported_at", ["category_id", "reported_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_department_code"), ["department_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_territory_code"), ["territory_code"], unique=False
        )

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_attachments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_case_attachments_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_attachments_sha256"), ["sha256"], unique=False)

    op.create_table(
        "case_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("started_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_clocks_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_clocks")),
    )
    with op.batch_alter_table("case_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_clocks_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_clocks_due_at"), ["due_at"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_case_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient_kind", sa.String(length=20), nullable=False),
        sa.Column("recipient_ref", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_notifications_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notifications")),
    )
    with op.batch_alter_table("case_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_notifications_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_notifications_delivered_at"), ["delivered_at"], unique=False
        )

    op.create_table(
        "case_summons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("summoned_by_id", sa.Integer(), nullable=True),
        sa.Column("summoned_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("acknowledged_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("flagged_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_case_summons_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_summons_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_case_summons_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["summoned_by_id"], ["users.id"], name=op.f("fk_case_summons_summoned_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_summons")),
        sa.UniqueConstraint(
            "case_id", "department_code", name=op.f("uq_case_summons_case_id_department_code")
        ),
    )
    with op.batch_alter_table("case_summons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_summons_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_summons_due_at"), ["due_at"], unique=False)

    protect("case_events")


def downgrade() -> None:
    unprotect("case_events")
    with op.batch_alter_table("case_summons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_summons_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_summons_case_id"))

    op.drop_table("case_summons")
    with op.batch_alter_table("case_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notifications_delivered_at"))
        batch_op.drop_index(batch_op.f("ix_case_notifications_case_id"))

    op.drop_table("case_notifications")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("case_clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_clocks_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_clocks_case_id"))

    op.drop_table("case_clocks")
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_sha256"))
        batch_op.drop_index(batch_op.f("ix_case_attachments_case_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_territory_code"))
        batch_op.drop_index(batch_op.f("ix_cases_state"))
        batch_op.drop_index(batch_op.f("ix_cases_reported_at"))
        batch_op.drop_index(batch_op.f("ix_cases_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_cases_grid_code"))
        batch_op.drop_index(batch_op.f("ix_cases_due_at"))
        batch_op.drop_index(batch_op.f("ix_cases_division_code"))
        batch_op.drop_index(batch_op.f("ix_cases_department_code"))
        batch_op.drop_index("ix_cases_category_id_reported_at")

    op.drop_table("cases")
    op.drop_table("case_number_counters")
