"""cases: one covering index of the open cases by territory for the desk's aggregates

The command center's minute refresh tags what its lists could show from one aggregate over the
open cases in the user's scope (count, last change, next light change), and the map groups the
open cases in view into cells with a count per light. With every column they read in one
partial index (open cases only, led by the territory for the scope's prefix match), both are
index-only scans on PostgreSQL instead of reading each open case's row (issue 25).

Revision ID: 0025_desk_refresh
Revises: 0024_figure_months
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_desk_refresh"
down_revision: str | None = "0024_figure_months"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "state IN ('accepted', 'dispatched', 'handled', 'handling', 'registered', 'reported', "
    "'returned', 'rework', 'suspended', 'verified')"
)
COLUMNS = [
    "territory_code",
    "lon",
    "lat",
    "state",
    "due_at",
    "yellow_at",
    "updated_at",
    "category_id",
]


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_territory_summary",
        "cases",
        COLUMNS,
        unique=False,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
        postgresql_ops={"territory_code": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_territory_summary", table_name="cases")
