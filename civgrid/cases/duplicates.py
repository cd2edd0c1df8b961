"""Likely duplicates (疑似重复): live cases of the same category, near a point, recent.

The search runs on its own (``find_duplicates``: the dispatcher's check, the portal's "already
reported nearby") and, at intake on PostgreSQL, inside the statement that writes the new case
(``civgrid.cases.newcase``), which reads the cases as they were before the new one.

On PostgreSQL a GiST index (``ix_cases_nearby``: category, report time, and the point on the
unit sphere as a ``cube``) hands the cases of the category and time window out nearest first,
so the search reads about as many cases as it returns, however many were reported at the spot
(a burst pipe reported two hundred times). SQLite reads every candidate in a bounding box and
sorts them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from civgrid.cases.models import Case
from civgrid.cases.transitions import CaseState
from civgrid.config import get_settings
from civgrid.db.base import utcnow

KY = 111_320.0  # metres per degree of latitude
EARTH_R = 6_371_008.8  # the mean radius, metres
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
        """The query's parameters: the point, radius and window, and the bounding box and planar
        scale of SQLite's search."""
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

        The distance is the one the search ordered by (see ``duplicates_query``).
        """
        return [
            Duplicate(i, n, CaseState(s), at.astimezone(UTC), math.sqrt(d2))
            for i, n, s, at, _lon, _lat, d2 in rows
        ]


def nearest(conn: Connection, near: Near, exclude_id: int | None = None) -> list[Duplicate]:
    """The likely duplicates as ``conn`` sees the cases now (its transaction's writes too)."""
    params = near.params()
    pg = conn.dialect.name == "postgresql"
    if exclude_id is None:
        return near.found(conn.execute(_DUPLICATES[pg], params))
    return near.found(conn.execute(_DUPLICATES_BUT_ONE[pg], {**params, "exclude_id": exclude_id}))


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


def on_sphere(lon: Any, lat: Any) -> ColumnElement[Any]:
    """The point (degrees) as a unit vector, a PostgreSQL ``cube``: ``ix_cases_nearby``'s key.

    The straight-line distance between two such vectors, times ``EARTH_R``, is the chord
    under the great-circle arc: the same order, and the same length to a micrometre at a few
    hundred metres. The index holds this expression, written out in migration 0011; the query
    must spell it the same way for the planner to use the index.
    """
    lo, la = func.radians(lon), func.radians(lat)
    return func.cube(
        array([func.cos(la) * func.cos(lo), func.cos(la) * func.sin(lo), func.sin(la)])
    )


def duplicates_query(
    *,
    lon: Any = None,
    lat: Any = None,
    category_id: Any = None,
    exclude: bool = False,
    postgresql: bool = False,
) -> Select[*tuple[Any, ...]]:
    """The search: (id, number, state, reported_at, lon, lat, d2), nearest first.

    ``d2`` is the square of the distance in metres, by which the rows are ordered (then by id).

    Its parameters are ``Near.params``' names; the report's point and category may be given as
    other expressions instead (the intake statement passes its own parameters for them).

    ``postgresql``: the ``limit`` nearest live cases of the category in the time window, read
    from ``ix_cases_nearby`` in the order of their distance (the ordering must be the distance
    alone for that), then those within the radius; among cases at the same distance, which
    make the limit is the index's choice (the answer is then ordered by id). Otherwise a
    bounding box on (category, latitude, longitude), which ``ix_cases_category_id_lat_lon``
    serves, narrows the candidates, and the database orders them all by a planar distance
    (within 0.2 % of the great-circle one at a few hundred metres).
    """
    lon = bindparam("lon", type_=Float) if lon is None else lon
    lat = bindparam("lat", type_=Float) if lat is None else lat
    category_id = bindparam("category_id", type_=Integer) if category_id is None else category_id
    live_and_recent = [
        Case.category_id == category_id,
        *[Case.state != s for s in DEAD],  # not an expanding NOT IN: compiled once
        Case.reported_at.between(bindparam("since"), bindparam("until")),
    ]
    if exclude:
        live_and_recent.append(Case.id != bindparam("exclude_id"))
    columns = (Case.id, Case.number, Case.state, Case.reported_at, Case.lon, Case.lat)
    limit = bindparam("limit", type_=Integer)
    if postgresql:
        chord = on_sphere(Case.lon, Case.lat).op("<->", return_type=Float)(on_sphere(lon, lat))
        nearest_first = (
            select(*columns, (chord * EARTH_R).label("d"))
            .where(*live_and_recent)
            .order_by(chord)
            .limit(limit)
            .subquery("nearest")
        )
        d2: ColumnElement[float] = nearest_first.c.d * nearest_first.c.d
        return (
            select(*[nearest_first.c[c.key] for c in columns], d2.label("d2"))
            .where(d2 <= bindparam("r2", type_=Float))
            .order_by(d2, nearest_first.c.id)
        )
    dx = (Case.lon - lon) * bindparam("kx", type_=Float)
    dy = (Case.lat - lat) * KY
    d2 = dx * dx + dy * dy
    return (
        select(*columns, d2.label("d2"))
        .where(
            *live_and_recent,
            Case.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
            Case.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
            d2 <= bindparam("r2", type_=Float),
        )
        .order_by(d2, Case.id)
        .limit(limit)
    )


# By "on PostgreSQL?"
_DUPLICATES = {pg: duplicates_query(postgresql=pg) for pg in (False, True)}
_DUPLICATES_BUT_ONE = {pg: duplicates_query(exclude=True, postgresql=pg) for pg in (False, True)}
