"""inspection photos (a table, files as case attachments are kept); units hold several
licences (unit_licences), the single licence of each unit moved into it as its main licence

Revision ID: 0021_inspection_photos
Revises: 0020_hotline
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0021_inspection_photos"
down_revision: str | None = "0020_hotline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # read and drop the single licence first: SQLite rebuilds ledger_units to drop columns,
    # which a table pointing at it would forbid
    now = datetime.now(UTC)
    units = sa.table(
        "ledger_units",
        sa.column("id", sa.Integer),
        sa.column("licence_no", sa.String),
        sa.column("licence_expires", sa.Date),
    )
    licences = sa.table(
        "unit_licences",
        *(
            sa.column(c, t)
            for c, t in (
                ("unit_id", sa.Integer),
                ("kind", sa.String),
                ("number", sa.String),
                ("issuer", sa.String),
                ("expires_on", sa.Date),
                ("is_main", sa.Boolean),
                ("created_at", civgrid.db.base.UTCDateTime(timezone=True)),
                ("updated_at", civgrid.db.base.UTCDateTime(timezone=True)),
            )
        ),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(units.c.id, units.c.licence_no, units.c.licence_expires).where(
            (units.c.licence_no != "") | units.c.licence_expires.is_not(None)
        )
    ).all()
    with op.batch_alter_table("ledger_units", schema=None) as batch_op:
        batch_op.drop_column("licence_expires")
        batch_op.drop_column("licence_no")

    op.create_table(
        "unit_licences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("is_main", sa.Boolean(), nullable=False),
        sa.Column("retired_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["ledger_units.id"], name=op.f("fk_unit_licences_unit_id_ledger_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_licences")),
        sa.UniqueConstraint(
            "unit_id", "kind", "number", name=op.f("uq_unit_licences_unit_id_kind_number")
        ),
    )
    with op.batch_alter_table("unit_licences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_licences_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_unit_licences_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "inspection_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("case_attachment_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_attachment_id"],
            ["case_attachments.id"],
            name=op.f("fk_inspection_photos_case_attachment_id_case_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_inspection_photos_item_id_checklist_items"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["inspection_records.id"],
            name=op.f("fk_inspection_photos_record_id_inspection_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_inspection_photos_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_photos")),
    )
    with op.batch_alter_table("inspection_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_photos_record_id"), ["record_id"], unique=False
        )

    with op.batch_alter_table("inspection_results", schema=None) as batch_op:
        batch_op.drop_column("photo")

    if rows:
        op.bulk_insert(
            licences,
            [
                {
                    "unit_id": uid,
                    "kind": "general",
                    "number": number or "",
                    "issuer": "",
                    "expires_on": expires,
                    "is_main": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for uid, number, expires in rows
            ],
        )


def downgrade() -> None:
    mains = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT unit_id, number, expires_on FROM unit_licences"
                " WHERE is_main AND retired_at IS NULL"
            )
        )
        .all()
    )
    with op.batch_alter_table("unit_licences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_licences_unit_id"))
        batch_op.drop_index(batch_op.f("ix_unit_licences_expires_on"))
    op.drop_table("unit_licences")
    with op.batch_alter_table("ledger_units", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("licence_no", sa.String(length=60), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("licence_expires", sa.Date(), nullable=True))
    if mains:
        op.get_bind().execute(
            sa.text("UPDATE ledger_units SET licence_no = :n, licence_expires = :e WHERE id = :u"),
            [{"n": n, "e": e, "u": u} for u, n, e in mains],
        )
    with op.batch_alter_table("ledger_units", schema=None) as batch_op:
        batch_op.alter_column("licence_no", server_default=None)

    with op.batch_alter_table("inspection_results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("photo", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.alter_column("photo", server_default=None)

    with op.batch_alter_table("inspection_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_photos_record_id"))

    op.drop_table("inspection_photos")
