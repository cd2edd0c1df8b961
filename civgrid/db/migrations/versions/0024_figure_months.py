"""figures: the daily rollups summed per month × township; the clocks running at an instant

``figure_month_counts`` holds ``figure_counts`` summed per month (its first day) × township
(the first 9 digits of the territory) × department × category × part: a township, county,
province or department reads the whole months of a period from it (issue 20). It is filled
here from the daily rows already built; ``civgrid figures rebuild`` keeps it in step.

On PostgreSQL, a GiST index on ``tstzrange(started_at, finished_at, '()')`` finds the stage
clocks running at an instant (the open cases by light at a period's end) without reading
every clock. It is built here, outside the models (an expression index): see
``POSTGRESQL_ONLY_INDEXES`` in the migrations' env.

Revision ID: 0024_figure_months
Revises: 0023_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_figure_months"
down_revision: str | None = "0023_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTH = {
    "postgresql": "CAST(date_trunc('month', day) AS DATE)",
    "sqlite": "date(day, 'start of month')",
}


def upgrade() -> None:
    op.create_table(
        "figure_month_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "township_code",
            "department_code",
            "category_id",
            "part",
            name="pk_figure_month_counts",
        ),
    )
    op.create_index(
        "ix_figure_month_counts_township_code_month",
        "figure_month_counts",
        ["township_code", "month"],
        postgresql_ops={"township_code": "varchar_pattern_ops"},
    )
    op.create_index(
        "ix_figure_month_counts_department_code_month",
        "figure_month_counts",
        ["department_code", "month"],
    )
    bind = op.get_bind()
    month = MONTH[bind.dialect.name]
    op.execute(
        "INSERT INTO figure_month_counts "  # noqa: S608  (the month expression is a constant)
        "(month, township_code, department_code, category_id, part, n, total) "
        f"SELECT {month}, substr(territory_code, 1, 9), department_code, category_id, part, "
        "sum(n), sum(total) FROM figure_counts "
        f"GROUP BY {month}, substr(territory_code, 1, 9), department_code, category_id, part"
    )
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_case_clocks_running ON case_clocks "
            "USING gist (tstzrange(started_at, finished_at, '()'))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_case_clocks_running")
    op.drop_index("ix_figure_month_counts_department_code_month", table_name="figure_month_counts")
    op.drop_index("ix_figure_month_counts_township_code_month", table_name="figure_month_counts")
    op.drop_table("figure_month_counts")
