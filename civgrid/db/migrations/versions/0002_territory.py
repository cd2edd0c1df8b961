"""territory: grids, versions, neighbourhood units, overlays

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civgrid.db.base
from civgrid.db.append_only import protect, unprotect

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "overlay_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overlay_layers")),
        sa.UniqueConstraint("code", name=op.f("uq_overlay_layers_code")),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.CheckConstraint("households >= 0 AND population >= 0", name=op.f("ck_grids_counts")),
        sa.CheckConstraint("level IN (1, 2)", name=op.f("ck_grids_level")),
        sa.ForeignKeyConstraint(["leader_id"], ["users.id"], name=op.f("fk_grids_leader_id_users")),
        sa.ForeignKeyConstraint(["parent_id"], ["grids.id"], name=op.f("fk_grids_parent_id_grids")),
        sa.ForeignKeyConstraint(
            ["village_code"], ["divisions.code"], name=op.f("fk_grids_village_code_divisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("code", name=op.f("uq_grids_code")),
    )
    with op.batch_alter_table("grids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grids_village_code"), ["village_code"], unique=False)

    op.create_table(
        "overlay_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("territory_code", sa.String(length=12), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["overlay_layers.id"],
            name=op.f("fk_overlay_areas_layer_id_overlay_layers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overlay_areas")),
        sa.UniqueConstraint("layer_id", "code", name=op.f("uq_overlay_areas_layer_id_code")),
    )
    op.create_table(
        "grid_members",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grids.id"],
            name=op.f("fk_grid_members_grid_id_grids"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_grid_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("grid_id", "user_id", name=op.f("pk_grid_members")),
    )
    op.create_table(
        "grid_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["users.id"], name=op.f("fk_grid_versions_filed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_grid_versions_grid_id_grids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_versions")),
        sa.UniqueConstraint("grid_id", "version", name=op.f("uq_grid_versions_grid_id_version")),
    )
    with op.batch_alter_table("grid_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_versions_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "neighbourhood_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("created_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "households BETWEEN 10 AND 50", name=op.f("ck_neighbourhood_units_households")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["users.id"], name=op.f("fk_neighbourhood_units_contact_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_neighbourhood_units_grid_id_grids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_neighbourhood_units")),
        sa.UniqueConstraint("grid_id", "name", name=op.f("uq_neighbourhood_units_grid_id_name")),
    )
    with op.batch_alter_table("neighbourhood_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_neighbourhood_units_grid_id"), ["grid_id"], unique=False
        )

    op.create_table(
        "overlay_coverages",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["overlay_areas.id"],
            name=op.f("fk_overlay_coverages_area_id_overlay_areas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grids.id"],
            name=op.f("fk_overlay_coverages_grid_id_grids"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("area_id", "grid_id", name=op.f("pk_overlay_coverages")),
    )
    op.create_table(
        "division_boundaries",
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("updated_at", civgrid.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["division_code"],
            ["divisions.code"],
            name=op.f("fk_division_boundaries_division_code_divisions"),
        ),
        sa.PrimaryKeyConstraint("division_code", name=op.f("pk_division_boundaries")),
    )
    op.create_table(
        "territory_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("territory_code", sa.String(length=12), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_features")),
    )
    with op.batch_alter_table("territory_features", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_territory_features_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_territory_features_territory_code"), ["territory_code"], unique=False
        )
    protect("grid_versions")


def downgrade() -> None:
    unprotect("grid_versions")
    with op.batch_alter_table("territory_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_features_territory_code"))
        batch_op.drop_index(batch_op.f("ix_territory_features_kind"))
    op.drop_table("territory_features")
    op.drop_table("division_boundaries")
    op.drop_table("overlay_coverages")
    with op.batch_alter_table("neighbourhood_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_neighbourhood_units_grid_id"))

    op.drop_table("neighbourhood_units")
    with op.batch_alter_table("grid_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_versions_grid_id"))

    op.drop_table("grid_versions")
    op.drop_table("grid_members")
    op.drop_table("overlay_areas")
    with op.batch_alter_table("grids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grids_village_code"))

    op.drop_table("grids")
    op.drop_table("overlay_layers")
