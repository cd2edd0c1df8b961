"""mediation: when the retention purge pseudonymised a dispute's parties (parties_purged_at)

Revision ID: 0022_dispute_parties_purge
Revises: 0021_inspection_photos
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0022_dispute_parties_purge"
down_revision: str | None = "0021_inspection_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "parties_purged_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("parties_purged_at")
