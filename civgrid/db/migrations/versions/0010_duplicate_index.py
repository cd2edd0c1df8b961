"""cases: an index for the likely-duplicate search (category, then position)

The search looks for live cases of one category within a few tens of metres. By category and
report time it read every case of that category in the time window, district-wide; by
category, latitude and longitude it reads only the cases near the point.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_category_id_lat_lon", "cases", ["category_id", "lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_cases_category_id_lat_lon", table_name="cases")
