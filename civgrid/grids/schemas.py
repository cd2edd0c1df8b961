"""Pydantic shapes of the grid API (GeoJSON features are built as plain dicts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from civgrid.grids.models import GridKind, VersionReason


class GridVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    reason: VersionReason
    code: str
    name: str
    kind: GridKind
    households: int
    population: int
    valid_from: date
    valid_to: date | None
    note: str
    filed_by_id: int | None
    filed_at: datetime


class OverlayHit(BaseModel):
    layer: str
    code: str
    name: str


class LocationOut(BaseModel):
    """Where a point lies, or ``inside: false`` with "outside the service area"."""

    inside: bool
    detail: str = ""
    grid_id: int | None = None
    grid_code: str | None = None
    grid_name: str | None = None
    village_code: str | None = None
    division_codes: list[str] = Field(default_factory=list)
    overlays: list[OverlayHit] = Field(default_factory=list)


class BulkLocateIn(BaseModel):
    points: list[tuple[float, float]] = Field(..., max_length=100_000, description="[lon, lat]")
    crs: Literal["wgs84", "gcj02"] = "wgs84"


class OverlayLayerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    department_code: str | None


class NeighbourhoodUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    households: int
    contact_id: int | None
    lon: float | None = None
    lat: float | None = None
