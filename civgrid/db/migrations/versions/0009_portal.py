"""resident portal: reporter receipts, submission marks; private categories

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Grid service items about one person or household (see civgrid.catalogue.loader).
PRIVATE_MAJORS = ("G05", "G06", "G13", "G15", "G16", "G17")


def upgrade() -> None:
    with op.batch_alter_table("categories") as batch:
        batch.add_column(
            sa.Column("is_private", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    categories = sa.table("categories", sa.column("major_code"), sa.column("is_private"))
    op.execute(
        categories.update()
        .where(categories.c.major_code.in_(PRIVATE_MAJORS))
        .values(is_private=True)
    )
    with op.batch_alter_table("categories") as batch:
        batch.alter_column("is_private", server_default=None)

    op.create_table(
        "portal_receipts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_portal_receipts_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_portal_receipts")),
    )
    op.create_table(
        "portal_submission_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_submission_marks")),
    )
    op.create_index(
        op.f("ix_portal_submission_marks_bucket"), "portal_submission_marks", ["bucket"]
    )
    op.create_index(op.f("ix_portal_submission_marks_at"), "portal_submission_marks", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_submission_marks_at"), table_name="portal_submission_marks")
    op.drop_index(op.f("ix_portal_submission_marks_bucket"), table_name="portal_submission_marks")
    op.drop_table("portal_submission_marks")
    op.drop_table("portal_receipts")
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("is_private")
