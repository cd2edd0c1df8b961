"""cases: the newest change in a scope and the next light to turn yellow, each one index step;
pending extension requests

The command center's minute refresh tagged its lists with one aggregate over every open case in
the dispatcher's scope: about 30 ms for the 173,000 open cases of a city at 10 M cases. A
territorial scope keeps its cases for good, closed ones included, so the newest ``updated_at``
in scope says when a case entered, changed or left the open set: one backward step of an index
of all cases by ``updated_at``; the next yellow light is one forward step of an open-case index
by ``yellow_at`` (issue 25). The territory code in both lets the scope's prefix be tested from
the index alone.

The desk's list of pending extension requests walked every case being handled to find the few
with a request (about 5 ms for its rows and 5 for its count at 10 M): they get an index of their
own.

Revision ID: 0027_desk_tag
Revises: 0026_open_undated
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_desk_tag"
down_revision: str | None = "0026_open_undated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "state IN ('accepted', 'dispatched', 'handled', 'handling', 'registered', 'reported', "
    "'returned', 'rework', 'suspended', 'verified')"
)


def upgrade() -> None:
    op.create_index(
        "ix_cases_updated_territory", "cases", ["updated_at", "territory_code"], unique=False
    )
    op.create_index(
        "ix_cases_open_yellow",
        "cases",
        ["yellow_at", "territory_code"],
        unique=False,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_cases_open_extension",
        "cases",
        ["due_at", "reported_at", "id"],
        unique=False,
        postgresql_where=sa.text(f"{OPEN} AND extension_amount IS NOT NULL"),
        sqlite_where=sa.text(f"{OPEN} AND extension_amount IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_extension", table_name="cases")
    op.drop_index("ix_cases_open_yellow", table_name="cases")
    op.drop_index("ix_cases_updated_territory", table_name="cases")
