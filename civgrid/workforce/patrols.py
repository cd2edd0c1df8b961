"""Patrol actions (巡查): start, upload positions in idempotent batches, end, sweep.

Only staff on an open patrol are tracked: a position is accepted only for a patrol of the
worker's own, within its time span. A batch carries an idempotency key: sent twice, it is
stored once and the second answer repeats the first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.db.cache import TableCache
from civgrid.errors import Conflict, Invalid, NotFound
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid, GridMember
from civgrid.workforce.batches import store_batch
from civgrid.workforce.clearance import check_field_clearance
from civgrid.workforce.models import (
    Patrol,
    PatrolBatch,
    PatrolDay,
    PatrolPoint,
    PatrolState,
)
from civgrid.workforce.track import Fix, outside, summarise, too_fast

# A phone's clock may run a little ahead; a point further in the future is refused.
CLOCK_SKEW = timedelta(minutes=2)
# Points may be taken a little before the start was recorded (the request was in flight).
EARLY = timedelta(minutes=5)
MAX_BATCH = 500


@dataclass(frozen=True)
class RawPoint:
    """A position as sent by the phone; ``t`` may be missing (then it is refused)."""

    t: datetime | None
    lon: float
    lat: float
    accuracy_m: float | None = None


@dataclass
class BatchResult:
    stored: int
    rejected: list[dict[str, Any]]
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "rejected": self.rejected, "duplicate": self.duplicate}


def worker_grids(db: Session, user_id: int) -> Sequence[Grid]:
    """The current grids a worker leads or serves in."""
    member = exists().where(GridMember.grid_id == Grid.id, GridMember.user_id == user_id)
    query = select(Grid).where(Grid.valid_to.is_(None), or_(Grid.leader_id == user_id, member))
    return db.scalars(query.order_by(Grid.code)).all()


def _common_prefix(codes: Sequence[str]) -> str:
    return os.path.commonprefix(list(codes))


def start_patrol(db: Session, user: User, *, now: datetime) -> Patrol:
    """Start a patrol for a qualified worker with at least one grid; one open patrol at a time."""
    check_field_clearance(db, user)
    grids = worker_grids(db, user.id)
    if not grids:
        raise Invalid("you are not staffed in any grid; ask the office to assign you one")
    if db.scalar(
        select(Patrol.id).where(Patrol.user_id == user.id, Patrol.state == PatrolState.OPEN)
    ):
        raise Conflict("you already have an open patrol; end it first")
    codes = [g.code for g in grids]
    patrol = Patrol(
        user_id=user.id,
        state=PatrolState.OPEN,
        started_at=now,
        grid_codes=codes,
        territory_code=_common_prefix(codes),
    )
    db.add(patrol)
    db.flush()
    record(db, "patrol.start", actor=user, object_type="patrol", object_id=patrol.id)
    db.commit()
    return patrol


def _grid_union(db: Session, codes: Sequence[str]) -> BaseGeometry | None:
    shapes = [from_text(g) for g in db.scalars(select(Grid.geometry).where(Grid.code.in_(codes)))]
    return shapely.union_all(shapes) if shapes else None


def _check(
    patrol: Patrol,
    points: Sequence[RawPoint],
    prev: Fix | None,
    bounds: Bounds | None,
    now: datetime,
) -> tuple[list[tuple[RawPoint, Fix]], list[dict[str, Any]]]:
    """The plausible points in time order, and the refused ones with their reason."""
    settings = get_settings()
    rejected: list[dict[str, Any]] = []
    timed: list[tuple[int, RawPoint]] = []
    latest = now + CLOCK_SKEW if patrol.ended_at is None else patrol.ended_at + CLOCK_SKEW
    for i, p in enumerate(points):
        if p.t is None:
            rejected.append({"index": i, "reason": "no_time"})
        elif p.t > now + CLOCK_SKEW:
            rejected.append({"index": i, "reason": "future"})
        elif p.t < patrol.started_at - EARLY or p.t > latest:
            rejected.append({"index": i, "reason": "outside_patrol"})
        elif bounds is not None and outside(
            Fix(0, p.lon, p.lat), bounds, settings.patrol_max_outside_m
        ):
            rejected.append({"index": i, "reason": "far_outside_grids"})
        else:
            timed.append((i, p))
    accepted: list[tuple[RawPoint, Fix]] = []
    for i, p in sorted(timed, key=lambda ip: ip[1].t or now):
        fix = Fix((p.t or now).timestamp(), p.lon, p.lat)
        if prev is not None and too_fast(prev, fix, settings.patrol_max_speed_kmh):
            rejected.append({"index": i, "reason": "speed"})
            continue
        accepted.append((p, fix))
        prev = fix
    return accepted, sorted(rejected, key=lambda r: r["index"])


_POINTS = PatrolPoint.__table__.c


def _previous_fix(db: Session, patrol_id: int, before: datetime) -> Fix | None:
    """The stored position just before ``before`` (the speed check's starting point)."""
    row = db.execute(
        select(_POINTS.at, _POINTS.lon, _POINTS.lat)
        .where(_POINTS.patrol_id == patrol_id, _POINTS.at < before)
        .order_by(_POINTS.at.desc())
        .limit(1)
    ).first()
    return None if row is None else Fix(row.at.timestamp(), row.lon, row.lat)


def upload_points(
    db: Session, patrol: Patrol, user: User, *, key: str, points: Sequence[RawPoint], now: datetime
) -> BatchResult:
    """Store a batch of positions once per idempotency ``key``; refuse the impossible ones.

    The same work for every batch, however long the patrol already is: one indexed read (the
    position before the batch), then its positions, its row and the patrol's counters written
    at once (``store_batch``), one commit. The summary is made when the patrol ends (a batch
    arriving after that redoes it).
    """
    _refuse_batch(patrol, user, key, points)
    first = min((p.t for p in points if p.t is not None), default=now)
    previous = _previous_fix(db, patrol.id, first)
    accepted, rejected = _check(patrol, points, previous, _bounds(db, patrol), now)
    good = [(p.t or now, p.lon, p.lat, p.accuracy_m) for p, _ in accepted]
    stored = store_batch(db, patrol, key=key, points=good, rejected=rejected, received_at=utcnow())
    if stored is None:
        # Sent before (or twice at once): nothing of this one is kept, the first answer stands.
        db.rollback()
        done = db.get(PatrolBatch, (patrol.id, key))
        if done is None:  # the other request has not committed yet
            raise Conflict("this batch is being stored by another request; send it again")
        return BatchResult(done.stored, list(done.rejected), duplicate=True)
    if patrol.state != PatrolState.OPEN and stored:  # a late batch: the summary is redone
        _summarise(db, patrol)
    db.commit()
    return BatchResult(stored, rejected)


def _refuse_batch(patrol: Patrol, user: User, key: str, points: Sequence[RawPoint]) -> None:
    if patrol.user_id != user.id:
        raise NotFound(f"patrol {patrol.id} not found")
    if not key or len(key) > 64:
        raise Invalid("a batch needs an idempotency key of 1–64 characters")
    if len(points) > MAX_BATCH:
        raise Invalid(f"a batch holds at most {MAX_BATCH} points")
    if patrol.purged_at is not None:
        raise Conflict("this patrol's points have been purged")


Bounds = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


def _load_grid_bounds(db: Session) -> dict[str, Bounds]:
    """Each grid code's lon/lat bounds, over all its versions (a redrawn grid keeps its code)."""
    rows = db.execute(
        select(
            Grid.code,
            func.min(Grid.min_lon),
            func.min(Grid.min_lat),
            func.max(Grid.max_lon),
            func.max(Grid.max_lat),
        ).group_by(Grid.code)
    )
    return {code: (a, b, c, d) for code, a, b, c, d in rows}


# Read for every batch; grids change seldom (civgrid.db.cache says when it is reloaded).
_GRID_BOUNDS = TableCache("grid_bounds", _load_grid_bounds, (Grid,))


def _bounds(db: Session, patrol: Patrol) -> Bounds | None:
    """The lon/lat bounds of the patrol's grids."""
    known = _GRID_BOUNDS.get(db)
    boxes = [known[code] for code in patrol.grid_codes if code in known]
    if not boxes:
        return None
    west, south, east, north = zip(*boxes, strict=True)
    return min(west), min(south), max(east), max(north)


def fixes(db: Session, patrol: Patrol) -> list[Fix]:
    """The patrol's raw positions in time order."""
    rows = db.execute(
        select(PatrolPoint.at, PatrolPoint.lon, PatrolPoint.lat)
        .where(PatrolPoint.patrol_id == patrol.id)
        .order_by(PatrolPoint.at)
    )
    return [Fix(r.at.timestamp(), r.lon, r.lat) for r in rows]


def _summarise(db: Session, patrol: Patrol) -> None:
    """Redo the patrol's summary from its raw points, and its worker's day."""
    s = summarise(fixes(db, patrol), _grid_union(db, patrol.grid_codes))
    patrol.distance_m = round(s.distance_m, 1)
    patrol.inside_s = s.inside_s
    patrol.stops = s.stops
    patrol.track = s.track
    patrol.duration_s = ((patrol.ended_at or utcnow()) - patrol.started_at).total_seconds()
    db.flush()
    _redo_day(db, patrol.user_id, local_day(patrol.started_at), patrol.territory_code)


def local_day(at: datetime) -> date:
    return at.astimezone(get_settings().tz).date()


def day_span(day: date) -> tuple[datetime, datetime]:
    """A local day as a UTC half-open interval."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=get_settings().tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _redo_day(db: Session, user_id: int, day: date, territory: str) -> None:
    start, end = day_span(day)
    rows = db.execute(
        select(Patrol.duration_s, Patrol.inside_s, Patrol.distance_m).where(
            Patrol.user_id == user_id,
            Patrol.started_at >= start,
            Patrol.started_at < end,
            Patrol.state != PatrolState.OPEN,
        )
    ).all()
    row = db.get(PatrolDay, (user_id, day)) or PatrolDay(user_id=user_id, day=day)
    row.territory_code = territory
    row.patrols = len(rows)
    row.seconds = sum(r.duration_s for r in rows)
    row.inside_s = sum(r.inside_s for r in rows)
    row.distance_m = round(sum(r.distance_m for r in rows), 1)
    db.add(row)


def end_patrol(
    db: Session, patrol: Patrol, user: User, *, now: datetime, ended_at: datetime | None = None
) -> Patrol:
    """End an open patrol (at ``ended_at`` if the phone ended it offline) and summarise it."""
    if patrol.user_id != user.id:
        raise NotFound(f"patrol {patrol.id} not found")
    if patrol.state != PatrolState.OPEN:
        return patrol  # ending twice (a retry from the phone) answers the same
    end = min(ended_at or now, now + CLOCK_SKEW)
    if end < patrol.started_at:
        raise Invalid("a patrol cannot end before it started")
    patrol.state = PatrolState.CLOSED
    patrol.ended_at = end
    _summarise(db, patrol)
    record(db, "patrol.end", actor=user, object_type="patrol", object_id=patrol.id)
    db.commit()
    return patrol


def sweep_patrols(db: Session, *, now: datetime | None = None) -> dict[str, list[int]]:
    """Close patrols left open past their day (flagged), and purge old raw points."""
    now = now or utcnow()
    today = local_day(now)
    closed: list[int] = []
    for patrol in db.scalars(select(Patrol).where(Patrol.state == PatrolState.OPEN)).all():
        if local_day(patrol.started_at) >= today:
            continue
        last = db.scalar(select(func.max(PatrolPoint.at)).where(PatrolPoint.patrol_id == patrol.id))
        day_end = day_span(local_day(patrol.started_at))[1]
        patrol.state = PatrolState.AUTO_CLOSED
        patrol.ended_at = min(last or patrol.started_at, day_end)
        _summarise(db, patrol)
        record(db, "patrol.auto_close", actor=None, object_type="patrol", object_id=patrol.id)
        db.commit()
        closed.append(patrol.id)
    return {"auto_closed": closed, "purged": purge_points(db, now=now)}


def purge_points(db: Session, *, now: datetime) -> list[int]:
    """Delete raw points and tracks of patrols older than the keeping period; sums stay."""
    cutoff = now - timedelta(days=get_settings().patrol_points_keep_days)
    old = db.scalars(
        select(Patrol).where(
            Patrol.started_at < cutoff, Patrol.purged_at.is_(None), Patrol.state != PatrolState.OPEN
        )
    ).all()
    for patrol in old:
        db.execute(delete(PatrolPoint).where(PatrolPoint.patrol_id == patrol.id))
        db.execute(delete(PatrolBatch).where(PatrolBatch.patrol_id == patrol.id))
        patrol.track = None
        patrol.purged_at = now
    if old:
        record(db, "patrol.purge", actor=None, detail={"patrols": [p.id for p in old]})
    db.commit()
    return [p.id for p in old]
