"""Open311 GeoReport v2: API clients and request tokens

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The manhole-cover matters ask what is wrong with the cover: the dispatcher's time limit
# depends on it (missing or displaced covers are urgent, a rattling one is not).
_COVER_CONDITION = [
    {"key": "missing", "name": "Missing"},
    {"key": "displaced", "name": "Displaced or tilted"},
    {"key": "cracked", "name": "Cracked or broken"},
    {"key": "rattling", "name": "Rattles when driven over"},
    {"key": "sunken", "name": "Sunken or raised against the road"},
]
_YES_NO = [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]


def _seed_attributes() -> None:
    table = sa.table(
        "open311_service_attributes",
        *(sa.column(name, sa.String()) for name in ("service_code", "code", "datatype")),
        *(sa.column(name, sa.String()) for name in ("description", "datatype_description")),
        sa.column("required", sa.Boolean()),
        sa.column("variable", sa.Boolean()),
        sa.column("order", sa.Integer()),
        sa.column("values", sa.JSON()),
    )
    rows = []
    for service_code in ("M01001", "M01002", "M01003"):
        rows.append(
            {
                "service_code": service_code,
                "code": "cover_condition",
                "datatype": "singlevaluelist",
                "required": True,
                "variable": True,
                "description": "What is wrong with the cover?",
                "datatype_description": "",
                "order": 1,
                "values": _COVER_CONDITION,
            }
        )
        rows.append(
            {
                "service_code": service_code,
                "code": "marked_off",
                "datatype": "singlevaluelist",
                "required": False,
                "variable": True,
                "description": "Has someone marked off the spot?",
                "datatype_description": "",
                "order": 2,
                "values": _YES_NO,
            }
        )
    op.bulk_insert(table, rows)


def upgrade() -> None:
    op.create_table(
        "open311_service_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("datatype", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("variable", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("datatype_description", sa.String(length=200), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_service_attributes")),
        sa.UniqueConstraint(
            "service_code", "code", name=op.f("uq_open311_service_attributes_service_code_code")
        ),
    )
    with op.batch_alter_table("open311_service_attributes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open311_service_attributes_service_code"),
            ["service_code"],
            unique=False,
        )
    _seed_attributes()

    op.create_table(
        "open311_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_hint", sa.String(length=8), nullable=False),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", civgrid.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", civgrid.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_open311_clients_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_clients")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_open311_clients_key_sha256")),
        sa.UniqueConstraint("name", name=op.f("uq_open311_clients_name")),
    )
    op.create_table(
        "open311_attribute_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_open311_attribute_answers_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_attribute_answers")),
    )
    with op.batch_alter_table("open311_attribute_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open311_attribute_answers_case_id"), ["case_id"], unique=False
        )
    op.create_table(
        "open311_request_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_open311_request_tokens_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["open311_clients.id"],
            name=op.f("fk_open311_request_tokens_client_id_open311_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_request_tokens")),
        sa.UniqueConstraint("case_id", name=op.f("uq_open311_request_tokens_case_id")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_request_tokens_token")),
    )
    with op.batch_alter_table("open311_request_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open311_request_tokens_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("open311_request_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_request_tokens_client_id"))
    op.drop_table("open311_request_tokens")
    with op.batch_alter_table("open311_attribute_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_attribute_answers_case_id"))
    op.drop_table("open311_attribute_answers")
    op.drop_table("open311_clients")
    with op.batch_alter_table("open311_service_attributes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_service_attributes_service_code"))
    op.drop_table("open311_service_attributes")
