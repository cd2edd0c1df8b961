"""workforce: member posts, field clearance, duty roster, training, patrols, meetings, appraisal

Revision ID: 0016
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appraisal_schemes",
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("manual_items", sa.JSON(), nullable=False),
        sa.Column("grades", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_appraisal_schemes")),
    )
    op.create_table(
        "training_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("valid_months", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_training_courses_code")),
    )
    op.create_table(
        "appraisal_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_appraisal_entries_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_appraisal_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_entries")),
        sa.UniqueConstraint(
            "quarter", "user_id", "item", name=op.f("uq_appraisal_entries_quarter_user_id_item")
        ),
    )
    with op.batch_alter_table("appraisal_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appraisal_entries_quarter"), ["quarter"], unique=False)

    op.create_table(
        "appraisals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("computed_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_appraisals_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisals")),
        sa.UniqueConstraint("quarter", "user_id", name=op.f("uq_appraisals_quarter_user_id")),
    )
    with op.batch_alter_table("appraisals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appraisals_quarter"), ["quarter"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_appraisals_territory_code"), ["territory_code"], unique=False
        )

    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("starts_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_duty_shifts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
    )
    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duty_shifts_division_code"), ["division_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_duty_shifts_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_shifts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "exam_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["training_courses.id"],
            name=op.f("fk_exam_results_course_id_training_courses"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exam_results_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_results")),
    )
    with op.batch_alter_table("exam_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_results_course_id"), ["course_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exam_results_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exam_results_user_id"), ["user_id"], unique=False)

    op.create_table(
        "patrol_days",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("patrols", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("inside_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_patrol_days_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_patrol_days")),
    )
    with op.batch_alter_table("patrol_days", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patrol_days_territory_code"), ["territory_code"], unique=False
        )

    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("started_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("grid_codes", sa.JSON(), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("inside_s", sa.Float(), nullable=False),
        sa.Column("stops", sa.JSON(), nullable=False),
        sa.Column("track", sa.JSON(), nullable=True),
        sa.Column("purged_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_patrols_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
    )
    with op.batch_alter_table("patrols", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrols_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patrols_territory_code"), ["territory_code"], unique=False
        )
        batch_op.create_index("ix_patrols_user_started", ["user_id", "started_at"], unique=False)

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["training_courses.id"],
            name=op.f("fk_training_sessions_course_id_training_courses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_sessions_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "grid_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=16), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("held_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_grid_meetings_grid_id_grids")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_grid_meetings_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_meetings")),
        sa.UniqueConstraint(
            "grid_id", "week_start", name=op.f("uq_grid_meetings_grid_id_week_start")
        ),
    )
    with op.batch_alter_table("grid_meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_meetings_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_meetings_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "patrol_batches",
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("received_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_patrol_batches_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patrol_id", "key", name=op.f("pk_patrol_batches")),
    )
    op.create_table(
        "patrol_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_patrol_points_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_points")),
        sa.UniqueConstraint("patrol_id", "at", name=op.f("uq_patrol_points_patrol_id_at")),
    )
    with op.batch_alter_table("grid_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("post", sa.String(length=20), nullable=False, server_default="full_time")
        )

    with op.batch_alter_table("neighbourhood_units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("retired_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("field_cleared", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("field_cleared")

    with op.batch_alter_table("neighbourhood_units", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
        batch_op.drop_column("lat")
        batch_op.drop_column("lon")

    with op.batch_alter_table("grid_members", schema=None) as batch_op:
        batch_op.drop_column("post")

    op.drop_table("patrol_points")
    op.drop_table("patrol_batches")
    with op.batch_alter_table("grid_meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_meetings_grid_id"))
        batch_op.drop_index(batch_op.f("ix_grid_meetings_grid_code"))

    op.drop_table("grid_meetings")
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_sessions_course_id"))

    op.drop_table("training_sessions")
    with op.batch_alter_table("patrols", schema=None) as batch_op:
        batch_op.drop_index("ix_patrols_user_started")
        batch_op.drop_index(batch_op.f("ix_patrols_territory_code"))
        batch_op.drop_index(batch_op.f("ix_patrols_state"))

    op.drop_table("patrols")
    with op.batch_alter_table("patrol_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrol_days_territory_code"))

    op.drop_table("patrol_days")
    with op.batch_alter_table("exam_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_results_user_id"))
        batch_op.drop_index(batch_op.f("ix_exam_results_expires_on"))
        batch_op.drop_index(batch_op.f("ix_exam_results_course_id"))

    op.drop_table("exam_results")
    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_shifts_user_id"))
        batch_op.drop_index(batch_op.f("ix_duty_shifts_starts_at"))
        batch_op.drop_index(batch_op.f("ix_duty_shifts_division_code"))

    op.drop_table("duty_shifts")
    with op.batch_alter_table("appraisals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisals_territory_code"))
        batch_op.drop_index(batch_op.f("ix_appraisals_quarter"))

    op.drop_table("appraisals")
    with op.batch_alter_table("appraisal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_entries_quarter"))

    op.drop_table("appraisal_entries")
    op.drop_table("training_courses")
    op.drop_table("appraisal_schemes")
