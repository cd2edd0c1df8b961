"""Likely duplicates (疑似重复): live cases of the same category, near a point, recent.

The search runs on its own (``find_duplicates``: the dispatcher's check, the portal's "already
reported nearby") and, at intake on PostgreSQL, inside the statement that writes the new case
(``civgrid.cases.newcase``), which reads the cases as they were before the new one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Select, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from civgrid.cases.models import Case
from civgrid.cases.transitions import CaseState
from civgrid.config import get_settings
from civgrid.db.base import utcnow

KY = 111_320.0  # metres per degree of latitude
DEAD = (CaseState.MERGED, CaseState.VOIDED, CaseState.REJECTED)


@dataclass(frozen=True)
class Duplicate:
    """A likely duplicate of a report: same category, near, recent."""

    id: int
    number: str
    state: CaseState
    reported_at: datetime
    distance_m: float


@dataclass(frozen=True)
class Near:
    """Where and when to look: the report's category and point, the radius and time window."""

    category_id: int
    lon: float
    lat: float
    at: datetime
    radius_m: float
    window_h: float
    limit: int

    @classmethod
    def of(
        cls,
        category_id: int,
        lon: float,
        lat: float,
        *,
        at: datetime | None = None,
        radius_m: float | None = None,
        window_h: float | None = None,
        limit: int = 20,
    ) -> Near:
        """The configured radius and time window unless given (``duplicate_radius_m``, …)."""
        s = get_settings()
        return cls(
            category_id,
            lon,
            lat,
            at or utcnow(),
            s.duplicate_radius_m if radius_m is None else radius_m,
            s.duplicate_window_hours if window_h is None else window_h,
            limit,
        )

    def params(self) -> dict[str, Any]:
        """The query's parameters: a bounding box for the index, the planar scale, the window."""
        kx = KY * max(math.cos(math.radians(self.lat)), 0.01)
        window = timedelta(hours=self.window_h)
        r = self.radius_m
        return {
            "category_id": self.category_id,
            "lon": self.lon,
            "lat": self.lat,
            "kx": kx,
            "r2": r * r,
            "lat_lo": self.lat - r / KY,
            "lat_hi": self.lat + r / KY,
            "lon_lo": self.lon - r / kx,
            "lon_hi": self.lon + r / kx,
            "since": self.at - window,
            "until": self.at + window,
            "limit": self.limit,
        }

    def found(self, rows: Iterable[Any]) -> list[Duplicate]:
        """``duplicates_query``'s rows (plain values will do) as duplicates, with distances.

        The distance is the planar one the search ordered by (within 0.2 % of the great-circle
        distance at a few hundred metres).
        """
        return [
            Duplicate(i, n, CaseState(s), at.astimezone(UTC), math.sqrt(d2))
            for i, n, s, at, _lon, _lat, d2 in rows
        ]


def nearest(conn: Connection, near: Near, exclude_id: int | None = None) -> list[Duplicate]:
    """The likely duplicates as ``conn`` sees the cases now (its transaction's writes too)."""
    params = near.params()
    if exclude_id is None:
        return near.found(conn.execute(_DUPLICATES, params))
    return near.found(conn.execute(_DUPLICATES_BUT_ONE, {**params, "exclude_id": exclude_id}))


def find_duplicates(
    db: Session,
    *,
    category_id: int,
    lon: float,
    lat: float,
    at: datetime | None = None,
    exclude_id: int | None = None,
    radius_m: float | None = None,
    window_h: float | None = None,
    limit: int = 20,
) -> list[Duplicate]:
    """Live cases of the same category within the radius and time window, nearest first."""
    near = Near.of(category_id, lon, lat, at=at, radius_m=radius_m, window_h=window_h, limit=limit)
    db.flush()  # the session's own pending cases count too
    # On the session's connection: a plain select of columns needs none of the ORM's work.
    return nearest(db.connection(), near, exclude_id)


def duplicates_query(
    *, lon: Any = None, lat: Any = None, category_id: Any = None, exclude: bool = False
) -> Select[*tuple[Any, ...]]:
    """The search: (id, number, state, reported_at, lon, lat, d2), nearest first.

    ``d2`` is the square of the planar distance, by which the rows are ordered.

    Its parameters are ``Near.params``' names; the report's point and category may be given as
    other expressions instead (the intake statement passes its own parameters for them).

    A bounding box on (category, latitude, longitude), which ``ix_cases_category_id_lat_lon``
    serves, narrows the candidates; the database orders them by a planar distance (exact
    enough at a few hundred metres) and returns only the nearest few. At a hot spot every
    candidate in the box is still read and sorted (docs/benchmarks.md, case intake).
    """
    lon = bindparam("lon", type_=Float) if lon is None else lon
    lat = bindparam("lat", type_=Float) if lat is None else lat
    category_id = bindparam("category_id", type_=Integer) if category_id is None else category_id
    dx = (Case.lon - lon) * bindparam("kx", type_=Float)
    dy = (Case.lat - lat) * KY
    d2: ColumnElement[float] = dx * dx + dy * dy
    q = (
        select(
            Case.id, Case.number, Case.state, Case.reported_at, Case.lon, Case.lat, d2.label("d2")
        )
        .where(
            Case.category_id == category_id,
            *[Case.state != s for s in DEAD],  # not an expanding NOT IN: compiled once
            Case.reported_at.between(bindparam("since"), bindparam("until")),
            Case.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
            Case.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
            d2 <= bindparam("r2", type_=Float),
        )
        .order_by(d2, Case.id)
        .limit(bindparam("limit", type_=Integer))
    )
    return q.where(Case.id != bindparam("exclude_id")) if exclude else q


_DUPLICATES = duplicates_query()
_DUPLICATES_BUT_ONE = duplicates_query(exclude=True)
