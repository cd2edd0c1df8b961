"""Care programme, dispute mediation and notices

Revision ID: 0017
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base
from civgrid.db.append_only import protect, unprotect

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("group", sa.String(length=20), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("visit_every_days", sa.Integer(), nullable=False),
        sa.Column("next_visit_on", sa.Date(), nullable=True),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_care_enrolments_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["users.id"], name=op.f("fk_care_enrolments_volunteer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["users.id"], name=op.f("fk_care_enrolments_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_enrolments")),
    )
    with op.batch_alter_table("care_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_enrolments_department_code"), ["department_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_enrolments_next_visit_on"), ["next_visit_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_enrolments_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_care_enrolments_territory_code"), ["territory_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_enrolments_worker_id"), ["worker_id"], unique=False
        )

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("published_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_notices_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_published_at"), ["published_at"], unique=False)

    op.create_table(
        "care_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_care_cases_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["care_enrolments.id"],
            name=op.f("fk_care_cases_enrolment_id_care_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_cases")),
        sa.UniqueConstraint("case_id", name=op.f("uq_care_cases_case_id")),
    )
    with op.batch_alter_table("care_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_cases_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "care_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("consenter", sa.String(length=20), nullable=False),
        sa.Column("guardian_name", sa.String(length=50), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("data_kept", sa.String(length=300), nullable=False),
        sa.Column("services", sa.String(length=300), nullable=False),
        sa.Column("who_may_see", sa.String(length=300), nullable=False),
        sa.Column("form_version", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["care_enrolments.id"],
            name=op.f("fk_care_consents_enrolment_id_care_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_care_consents_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_consents")),
        sa.UniqueConstraint("enrolment_id", name=op.f("uq_care_consents_enrolment_id")),
    )
    op.create_table(
        "care_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["care_enrolments.id"],
            name=op.f("fk_care_documents_enrolment_id_care_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_care_documents_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_documents")),
    )
    with op.batch_alter_table("care_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_documents_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "care_persons",
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=60), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["care_enrolments.id"],
            name=op.f("fk_care_persons_enrolment_id_care_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrolment_id", name=op.f("pk_care_persons")),
    )
    op.create_table(
        "care_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("needs_found", sa.Text(), nullable=False),
        sa.Column("recorded_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["care_enrolments.id"],
            name=op.f("fk_care_visits_enrolment_id_care_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["users.id"], name=op.f("fk_care_visits_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_visits")),
    )
    with op.batch_alter_table("care_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_visits_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("tier_started_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tier_due_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("referral", sa.String(length=20), nullable=True),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agreed_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("carried_out", sa.Boolean(), nullable=True),
        sa.Column("followed_up_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_disputes_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["users.id"], name=op.f("fk_disputes_mediator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("number", name=op.f("uq_disputes_number")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_mediator_id"), ["mediator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disputes_territory_code"), ["territory_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_disputes_tier"), ["tier"], unique=False)

    op.create_table(
        "notice_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_receipts_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_receipts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_receipts")),
        sa.UniqueConstraint(
            "notice_id", "user_id", name=op.f("uq_notice_receipts_notice_id_user_id")
        ),
    )
    with op.batch_alter_table("notice_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_receipts_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notice_receipts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "dispute_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("from_tier", sa.String(length=20), nullable=True),
        sa.Column("to_tier", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_dispute_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_events_dispute_id_disputes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_events")),
    )
    with op.batch_alter_table("dispute_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispute_events_dispute_id"), ["dispute_id"], unique=False
        )

    op.create_table(
        "dispute_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("contact", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_parties_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_parties")),
    )
    with op.batch_alter_table("dispute_parties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispute_parties_dispute_id"), ["dispute_id"], unique=False
        )

    op.create_table(
        "mediation_agreements",
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("signed_filename", sa.String(length=200), nullable=True),
        sa.Column("signed_content_type", sa.String(length=60), nullable=True),
        sa.Column("signed_copy", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_mediation_agreements_dispute_id_disputes"),
        ),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_mediation_agreements")),
    )
    op.create_table(
        "mediation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.String(length=500), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_mediation_sessions_dispute_id_disputes")
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["users.id"], name=op.f("fk_mediation_sessions_mediator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_sessions")),
    )
    with op.batch_alter_table("mediation_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mediation_sessions_dispute_id"), ["dispute_id"], unique=False
        )

    op.create_table(
        "notice_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_targets_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["neighbourhood_units.id"],
            name=op.f("fk_notice_targets_unit_id_neighbourhood_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_targets")),
    )
    with op.batch_alter_table("notice_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_targets_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notice_targets_territory_code"), ["territory_code"], unique=False
        )
    protect("dispute_events")


def downgrade() -> None:
    unprotect("dispute_events")
    with op.batch_alter_table("notice_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_targets_territory_code"))
        batch_op.drop_index(batch_op.f("ix_notice_targets_notice_id"))

    op.drop_table("notice_targets")
    with op.batch_alter_table("mediation_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediation_sessions_dispute_id"))

    op.drop_table("mediation_sessions")
    op.drop_table("mediation_agreements")
    with op.batch_alter_table("dispute_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_parties_dispute_id"))

    op.drop_table("dispute_parties")
    with op.batch_alter_table("dispute_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_events_dispute_id"))

    op.drop_table("dispute_events")
    with op.batch_alter_table("notice_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_receipts_user_id"))
        batch_op.drop_index(batch_op.f("ix_notice_receipts_notice_id"))

    op.drop_table("notice_receipts")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_tier"))
        batch_op.drop_index(batch_op.f("ix_disputes_territory_code"))
        batch_op.drop_index(batch_op.f("ix_disputes_state"))
        batch_op.drop_index(batch_op.f("ix_disputes_mediator_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_kind"))

    op.drop_table("disputes")
    with op.batch_alter_table("care_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_visits_enrolment_id"))

    op.drop_table("care_visits")
    op.drop_table("care_persons")
    with op.batch_alter_table("care_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_documents_enrolment_id"))

    op.drop_table("care_documents")
    op.drop_table("care_consents")
    with op.batch_alter_table("care_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_cases_enrolment_id"))

    op.drop_table("care_cases")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_published_at"))

    op.drop_table("notices")
    with op.batch_alter_table("care_enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_enrolments_worker_id"))
        batch_op.drop_index(batch_op.f("ix_care_enrolments_territory_code"))
        batch_op.drop_index(batch_op.f("ix_care_enrolments_state"))
        batch_op.drop_index(batch_op.f("ix_care_enrolments_next_visit_on"))
        batch_op.drop_index(batch_op.f("ix_care_enrolments_department_code"))

    op.drop_table("care_enrolments")
