"""figures: rollup counts, their build mark, kept reports; case events indexed by time

The figures count facts per local day (civgrid.figures); the rollups and the raw
recomputation both find the cases touched in a period through the events' time.

Revision ID: 0014
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from civgrid.db.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_events_at", "case_events", ["at"])
    op.create_table(
        "figure_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("territory_code", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "territory_code",
            "department_code",
            "category_id",
            "worker_id",
            "part",
            name="pk_figure_counts",
        ),
    )
    op.create_index(
        "ix_figure_counts_territory_code_day", "figure_counts", ["territory_code", "day"]
    )
    op.create_index(
        "ix_figure_counts_department_code_day", "figure_counts", ["department_code", "day"]
    )
    op.create_index("ix_figure_counts_worker_id_day", "figure_counts", ["worker_id", "day"])
    op.create_table(
        "figure_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("built_until", sa.Date(), nullable=False),
        sa.Column("built_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_figure_builds"),
    )
    op.create_table(
        "figure_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_figure_reports"),
        sa.UniqueConstraint(
            "division_code",
            "period",
            "format",
            name="uq_figure_reports_division_code_period_format",
        ),
    )
    op.create_index("ix_figure_reports_division_code", "figure_reports", ["division_code"])


def downgrade() -> None:
    op.drop_index("ix_figure_reports_division_code", table_name="figure_reports")
    op.drop_table("figure_reports")
    op.drop_table("figure_builds")
    op.drop_index("ix_figure_counts_worker_id_day", table_name="figure_counts")
    op.drop_index("ix_figure_counts_department_code_day", table_name="figure_counts")
    op.drop_index("ix_figure_counts_territory_code_day", table_name="figure_counts")
    op.drop_table("figure_counts")
    op.drop_index("ix_case_events_at", table_name="case_events")
