"""Grid fixtures: small square grids in the test villages of Shijie town (441900101)."""

from __future__ import annotations

import math

import pytest
from shapely import box
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from civgrid.grids.actions import GridDraft, create_grid
from civgrid.grids.models import Grid

LON, LAT = 113.78, 23.09
M = 1 / 110_574
MX = 1 / (111_320 * math.cos(math.radians(LAT)))
VILLAGE = "441900101002"
OTHER_TOWN_VILLAGE = "441900102004"


def sq(x0: float, y0: float, x1: float, y1: float) -> BaseGeometry:
    """A box given in metres east/north of (LON, LAT)."""
    return box(LON + x0 * MX, LAT + y0 * M, LON + x1 * MX, LAT + y1 * M)


@pytest.fixture
def two_grids(db: Session) -> list[Grid]:
    """Two 100 m squares side by side in 城中社区: west is 01, east is 02."""
    return [
        create_grid(db, GridDraft(VILLAGE, sq(0, 0, 100, 100), "西片", 400, 1100), actor=None),
        create_grid(db, GridDraft(VILLAGE, sq(100, 0, 200, 100), "东片", 350, 900), actor=None),
    ]
