"""cases: the optional name a hotline caller or walk-in visitor gives (reporter_name)

Revision ID: 0020_hotline
Revises: 0019_retention
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_hotline"
down_revision: str | None = "0019_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reporter_name", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reporter_name")
