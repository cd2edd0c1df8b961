"""Workforce fixtures: a 200 m grid in 城中社区 staffed with a leader and a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from civgrid.grids.actions import GridDraft, create_grid
from civgrid.grids.models import Grid, Post
from civgrid.workforce.actions import staff_grid
from tests.grids.conftest import LAT, LON, MX, VILLAGE, M, sq

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def at(x_m: float, y_m: float) -> tuple[float, float]:
    """lon, lat of a spot given in metres east/north of the grid's corner."""
    return LON + x_m * MX, LAT + y_m * M


def point(seconds: float, x_m: float, y_m: float) -> dict[str, Any]:
    """One position for the upload API, ``seconds`` after T0, in epoch milliseconds."""
    lon, lat = at(x_m, y_m)
    return {"t": (T0 + timedelta(seconds=seconds)).timestamp() * 1000, "lon": lon, "lat": lat}


@dataclass
class Staffed:
    grid: Grid
    leader: Any
    worker: Any


@pytest.fixture
def staffed(db: Session, make_user) -> Staffed:
    grid = create_grid(db, GridDraft(VILLAGE, sq(0, 0, 200, 200), "巡查片", 400, 1100), actor=None)
    leader = make_user("grid_leader", ("grid", grid.code))
    worker = make_user("grid_worker", ("grid", grid.code))
    staff_grid(db, grid, leader_id=leader.id, members=[(worker.id, Post.FULL_TIME)], actor=None)
    return Staffed(grid, leader, worker)
