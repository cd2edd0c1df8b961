"""cases: indexes shaped for each list, and the instant each running light turns yellow

The desk's queues, the API list, the board and Open311 read their first page from an index in
the list's own order, so that none reads the history of closed cases (issue 25):

- open cases (partial, ``WHERE state IN (open states)``) by deadline, by state and deadline,
  by department and deadline, by territory (the scope's prefix match), and the open
  emergencies by deadline;
- all cases newest first (``reported_at, id``: the API's keyset), and the public ones
  (``WHERE state NOT IN (hidden states)``: the board's and Open311's).

The single-column indexes on ``due_at`` and ``reported_at`` give way to these.

``yellow_at`` (cases and case clocks) is when 80 % of the running stage's limit is used on
the working calendar: lists colour lights in SQL from it and the deadline. The running clocks
are filled in here from the calendar in force; finished clocks keep NULL (never shown in a list).

Revision ID: 0023_list_indexes
Revises: 0022_dispute_parties_purge
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import civgrid.db.base

revision: str = "0023_list_indexes"
down_revision: str | None = "0022_dispute_parties_purge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "state IN ('accepted', 'dispatched', 'handled', 'handling', 'registered', 'reported', "
    "'returned', 'rework', 'suspended', 'verified')"
)
PUBLIC = "state NOT IN ('merged', 'rejected', 'reported', 'voided')"
# name, columns, condition (None: a full index)
INDEXES: tuple[tuple[str, list[str], str | None], ...] = (
    ("ix_cases_open_due", ["due_at", "reported_at", "id"], OPEN),
    ("ix_cases_open_state_due", ["state", "due_at", "reported_at", "id"], OPEN),
    (
        "ix_cases_open_emergency_due",
        ["due_at", "reported_at", "id"],
        f"priority = 'emergency' AND {OPEN}",
    ),
    ("ix_cases_open_department_due", ["department_code", "due_at", "reported_at", "id"], OPEN),
    ("ix_cases_open_territory_due", ["territory_code", "due_at"], OPEN),
    ("ix_cases_reported_at_id", ["reported_at", "id"], None),
    ("ix_cases_public_reported_at_id", ["reported_at", "id"], PUBLIC),
)
BATCH = 5000


def upgrade() -> None:
    for table in ("cases", "case_clocks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("yellow_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True)
            )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_due_at")
        batch_op.drop_index("ix_cases_reported_at")
    for name, columns, where in INDEXES:
        kw: dict[str, Any] = {}
        if where is not None:
            kw = {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
        if name == "ix_cases_open_territory_due":
            kw["postgresql_ops"] = {"territory_code": "varchar_pattern_ops"}
        op.create_index(name, "cases", columns, unique=False, **kw)
    _fill_yellow_at()


def _fill_yellow_at() -> None:
    """``yellow_at`` of every running clock and its case, from the calendar in force."""
    from civgrid.calendar.service import get_calendar
    from civgrid.calendar.units import TimeUnit

    bind = op.get_bind()
    calendar = get_calendar(Session(bind=bind))
    when = civgrid.db.base.UTCDateTime(timezone=True)
    clocks = sa.table(
        "case_clocks",
        sa.column("id"),
        sa.column("case_id"),
        sa.column("unit"),
        sa.column("started_at", when),
        sa.column("due_at", when),
        sa.column("finished_at", when),
        sa.column("yellow_at", when),
    )
    cases = sa.table("cases", sa.column("id"), sa.column("yellow_at", when))
    running = sa.select(
        clocks.c.id, clocks.c.case_id, clocks.c.unit, clocks.c.started_at, clocks.c.due_at
    ).where(clocks.c.finished_at.is_(None))
    rows = bind.execute(running).all()
    set_clock = (
        clocks.update()
        .where(clocks.c.id == sa.bindparam("clock_id"))
        .values(yellow_at=sa.bindparam("yellow"))
    )
    set_case = (
        cases.update()
        .where(cases.c.id == sa.bindparam("case_id_"))
        .values(yellow_at=sa.bindparam("yellow"))
    )
    for i in range(0, len(rows), BATCH):
        values = [
            {
                "clock_id": r.id,
                "case_id_": r.case_id,
                "yellow": calendar.turns_yellow(r.started_at, r.due_at, TimeUnit(r.unit)),
            }
            for r in rows[i : i + BATCH]
        ]
        bind.execute(set_clock, values)
        bind.execute(set_case, values)


def downgrade() -> None:
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_reported_at", ["reported_at"], unique=False)
        batch_op.create_index("ix_cases_due_at", ["due_at"], unique=False)
    for table in ("case_clocks", "cases"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("yellow_at")
