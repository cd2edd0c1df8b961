"""cases: on PostgreSQL, a GiST index that hands out the cases near a point nearest first

The likely-duplicate search (civgrid.cases.duplicates) read, by category, latitude and
longitude, every live case near the point and sorted them all: at a spot reported a few hundred
times that was most of the cost of a new report. This index, on the category, the report time
and the point on the unit sphere (a ``cube``), lets the search read the nearest few only. It
needs PostgreSQL's contrib extensions ``cube`` and ``btree_gist`` (trusted: the database's
owner may create them); the downgrade drops the index and leaves the extensions, which other
objects may use. SQLite keeps the bounding-box index of 0010.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As civgrid.cases.duplicates.on_sphere compiles it: the planner uses the index only for the
# same expression (tests/cases/test_duplicates.py checks that it does).
ON_SPHERE = (
    "cube(ARRAY[cos(radians(lat)) * cos(radians(lon)), "
    "cos(radians(lat)) * sin(radians(lon)), sin(radians(lat))])"
)


EXTENSIONS = ("cube", "btree_gist")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = set(bind.exec_driver_sql("SELECT name FROM pg_available_extensions").scalars())
    missing = [e for e in EXTENSIONS if e not in available]
    if missing:
        raise RuntimeError(
            f"this PostgreSQL server lacks the contrib extension(s) {', '.join(missing)}, which "
            "civgrid's likely-duplicate search needs: install the server's contrib package "
            "(Debian and Ubuntu ship them with postgresql; RHEL: postgresql-contrib)"
        )
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    op.execute(
        f"CREATE INDEX ix_cases_nearby ON cases USING gist (category_id, reported_at, {ON_SPHERE})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_cases_nearby")
