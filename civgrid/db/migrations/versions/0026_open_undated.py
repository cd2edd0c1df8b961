"""cases: an index of the open cases without a deadline (挂账), oldest report first

The desk's lists end with their cases that have no deadline (suspended ones), oldest report
first. At 10 M cases about 155,000 are suspended: without this index the list sorted all of
them to show the first page (issue 25).

Revision ID: 0026_open_undated
Revises: 0025_desk_refresh
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_open_undated"
down_revision: str | None = "0025_desk_refresh"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_UNDATED = (
    "state IN ('accepted', 'dispatched', 'handled', 'handling', 'registered', 'reported', "
    "'returned', 'rework', 'suspended', 'verified') AND due_at IS NULL"
)


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_undated",
        "cases",
        ["reported_at", "id"],
        unique=False,
        postgresql_where=sa.text(OPEN_UNDATED),
        sqlite_where=sa.text(OPEN_UNDATED),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_undated", table_name="cases")
