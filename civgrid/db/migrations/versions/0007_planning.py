"""planning: grid division proposals

Revision ID: 0007
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grid_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("band_min", sa.Integer(), nullable=False),
        sa.Column("band_max", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("assignment", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", civgrid.db.base.UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_grid_proposals_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_grid_proposals_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"],
            ["divisions.code"],
            name=op.f("fk_grid_proposals_village_code_divisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_proposals")),
    )
    with op.batch_alter_table("grid_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_proposals_village_code"), ["village_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grid_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_proposals_village_code"))
    op.drop_table("grid_proposals")
