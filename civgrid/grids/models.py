"""Grids (网格), their filed versions, members, neighbourhood units (联户单元) and overlay layers.

Geometry is stored as GeoJSON text in WGS84 lon/lat with bounding-box columns (no PostGIS);
the in-memory locator does the spatial work.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class GridKind(LabelledEnum):
    COMPREHENSIVE = ("comprehensive", "综合网格", "Comprehensive", "blue", "grid")
    EXCLUSIVE = ("exclusive", "专属网格", "Exclusive", "orange", "grid")


class VersionReason(LabelledEnum):
    CREATED = ("created", "新建", "Created", "green", "filing")
    ADJUSTED = ("adjusted", "调整", "Adjusted", "blue", "filing")
    IMPORTED = ("imported", "导入", "Imported", "teal", "filing")
    RETIRED = ("retired", "撤销", "Retired", "grey", "filing")


class _Shape:
    """GeoJSON geometry text plus its WGS84 bounding box."""

    geometry: Mapped[str] = mapped_column(Text)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)


class Grid(_Shape, Base):
    """A grid: a polygon inside exactly one village, with a 14- (or 15-) digit code."""

    __tablename__ = "grids"
    __table_args__ = (
        CheckConstraint("level IN (1, 2)", name="level"),
        CheckConstraint("households >= 0 AND population >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[GridKind] = mapped_column(EnumText(GridKind, 20))
    level: Mapped[int] = mapped_column(Integer, default=1)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), nullable=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    households: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int] = mapped_column(Integer, default=0)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    area_m2: Mapped[float] = mapped_column(Float, default=0.0)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[GridMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def territory_code(self) -> str:
        return self.code

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class Post(LabelledEnum):
    """A member's post in a grid (the leader is ``Grid.leader_id``)."""

    DEPUTY = ("deputy", "副网格长", "Deputy leader", "green", "staff")
    FULL_TIME = ("full_time", "专职网格员", "Full-time worker", "blue", "staff")
    PART_TIME = ("part_time", "兼职网格员", "Part-time worker", "teal", "staff")


class GridMember(Base):
    """A staff member working in a grid (the leader is on the grid itself)."""

    __tablename__ = "grid_members"

    grid_id: Mapped[int] = mapped_column(
        ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    post: Mapped[Post] = mapped_column(EnumText(Post, 20), default=Post.FULL_TIME)


class GridVersion(_Shape, Base):
    """One filed version of a grid (备案): its geometry and attributes, who filed it and when.

    Append-only: every adjustment adds a row, so every old version is kept.
    """

    __tablename__ = "grid_versions"
    __table_args__ = (UniqueConstraint("grid_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[VersionReason] = mapped_column(EnumText(VersionReason, 20))
    code: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[GridKind] = mapped_column(EnumText(GridKind, 20))
    level: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    village_code: Mapped[str] = mapped_column(String(12))
    households: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    leader_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NeighbourhoodUnit(Base):
    """A neighbourhood unit (联户单元): 10–50 households inside a grid, a volunteer contact."""

    __tablename__ = "neighbourhood_units"
    __table_args__ = (
        CheckConstraint("households BETWEEN 10 AND 50", name="households"),
        UniqueConstraint("grid_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    households: Mapped[int] = mapped_column(Integer)
    # The volunteer contact is a staff account (a volunteer given a login), so no personal
    # data of residents is stored here.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the unit lies (a point inside its grid), for the map; retired units are kept.
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OverlayLayer(Base):
    """A named layer of other departments' zones (police service areas, sanitation zones …)."""

    __tablename__ = "overlay_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    areas: Mapped[list[OverlayArea]] = relationship(
        back_populates="layer", cascade="all, delete-orphan", order_by="OverlayArea.code"
    )


class OverlayArea(_Shape, Base):
    """One zone of an overlay layer."""

    __tablename__ = "overlay_areas"
    __table_args__ = (UniqueConstraint("layer_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("overlay_layers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    territory_code: Mapped[str] = mapped_column(String(12), default="")

    layer: Mapped[OverlayLayer] = relationship(back_populates="areas")


class OverlayCoverage(Base):
    """The share of a grid's area that an overlay area covers (0 < fraction ≤ 1)."""

    __tablename__ = "overlay_coverages"

    area_id: Mapped[int] = mapped_column(
        ForeignKey("overlay_areas.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(
        ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True
    )
    fraction: Mapped[float] = mapped_column(Float)


class FeatureKind(LabelledEnum):
    ROAD = ("road", "道路", "Road", "grey", "line")
    RIVER = ("river", "河流", "River", "blue", "line")
    PROTECTED = ("protected", "保护地块", "Protected site", "red", "area")


class DivisionBoundary(_Shape, Base):
    """The surveyed boundary of a division (usually a village/community)."""

    __tablename__ = "division_boundaries"

    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TerritoryFeature(_Shape, Base):
    """A road or river line, or a protected site (school, enterprise, compound) used by checks."""

    __tablename__ = "territory_features"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FeatureKind] = mapped_column(EnumText(FeatureKind, 20), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # The township (or village) the feature belongs to, for scoping and clean re-imports.
    territory_code: Mapped[str] = mapped_column(String(12), index=True)
