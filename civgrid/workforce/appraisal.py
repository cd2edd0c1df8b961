"""The quarterly appraisal (季度考核) of grid workers, on the figures package's indicators.

A worker's score is made of parts, each worth up to its weight in points:

- indicators of ``civgrid.figures`` (a rate 0–1, turned so that higher is better) × weight;
- patrol: the share of patrolled days meeting the daily rule × weight (workforce data);
- manual items entered by the office (training, meeting attendance …), capped at their weight.

A part with no data is left out and the total is scaled to 100 over the parts that have data,
as ``civgrid.figures.scores`` does. The scheme (weights, items, grade thresholds) is data per
role (``AppraisalScheme``); ``DEFAULT_SCHEME`` applies where none is stored. The year-end
evaluation sums the four quarters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.errors import Forbidden, Invalid
from civgrid.figures.indicators import INDICATORS
from civgrid.figures.periods import Period
from civgrid.figures.service import compute
from civgrid.grids.models import Grid, GridKind, GridMember
from civgrid.workforce.clearance import FIELD_ROLES
from civgrid.workforce.models import Appraisal, AppraisalEntry, AppraisalScheme, PatrolDay
from civgrid.workforce.service import required_hours

DEFAULT_SCHEME: dict[str, Any] = {
    "indicators": {
        "valid_report_rate": 25.0,
        "on_time_verification_rate": 25.0,
        "on_time_registration_rate": 10.0,
    },
    "patrol": 20.0,
    "manual_items": {"training": 10.0, "meeting_attendance": 10.0},
    "grades": [[90, "优秀"], [75, "良好"], [60, "合格"], [0, "不合格"]],
}


@dataclass(frozen=True)
class Scheme:
    indicators: dict[str, float]
    patrol: float
    manual_items: dict[str, float]
    grades: list[list[Any]]

    def grade(self, total: float) -> str:
        return next((str(g) for floor, g in self.grades if total >= float(floor)), "")


def scheme_for(db: Session, role: Role) -> Scheme:
    """The role's stored scheme, or the default one."""
    row = db.get(AppraisalScheme, str(role))
    if row is None:
        d = DEFAULT_SCHEME
        return Scheme(dict(d["indicators"]), d["patrol"], dict(d["manual_items"]), d["grades"])
    indicators = dict(row.indicators)
    patrol = float(indicators.pop("patrol", 0.0))
    return Scheme(indicators, patrol, dict(row.manual_items), list(row.grades))


def set_scheme(
    db: Session,
    role: Role,
    *,
    indicators: dict[str, float],
    manual_items: dict[str, float],
    grades: list[list[Any]],
    actor: User | None,
) -> AppraisalScheme:
    """Store a role's scheme; indicator codes must be the figures package's (or ``patrol``)."""
    if actor is not None:
        scope.check_role(actor, Appraisal, "change")
    if unknown := sorted(set(indicators) - set(INDICATORS) - {"patrol"}):
        raise Invalid(f"unknown indicators {unknown}", valid=sorted(INDICATORS))
    if any(w < 0 for w in [*indicators.values(), *manual_items.values()]):
        raise Invalid("weights are not negative")
    row = db.get(AppraisalScheme, str(role)) or AppraisalScheme(role=str(role))
    row.indicators, row.manual_items, row.grades = indicators, manual_items, grades
    db.add(row)
    record(db, "appraisal.scheme", actor=actor, object_type="role", object_id=str(role))
    db.commit()
    return row


def enter_item(
    db: Session, *, quarter: str, worker: User, item: str, points: float, actor: User
) -> AppraisalEntry:
    """The office enters a manual item (training, meeting attendance …) for a worker."""
    scope.check_role(actor, Appraisal, "change")
    Period.parse(quarter)
    scheme = scheme_for(db, worker.role)
    if item not in scheme.manual_items:
        raise Invalid(f"unknown item {item!r}", valid=sorted(scheme.manual_items))
    if not 0 <= points <= scheme.manual_items[item]:
        raise Invalid(f"{item} is worth 0–{scheme.manual_items[item]} points")
    row = db.scalar(
        select(AppraisalEntry).where(
            AppraisalEntry.quarter == quarter,
            AppraisalEntry.user_id == worker.id,
            AppraisalEntry.item == item,
        )
    ) or AppraisalEntry(quarter=quarter, user_id=worker.id, item=item)
    row.points, row.entered_by_id = points, actor.id
    db.add(row)
    record(db, "appraisal.item", actor=actor, object_type="user", object_id=worker.id)
    db.commit()
    return row


def workers_in(db: Session, division: str) -> list[tuple[User, Grid]]:
    """Grid workers and leaders staffed in grids under ``division``, each with their first grid."""
    member = exists().where(GridMember.grid_id == Grid.id, GridMember.user_id == User.id)
    rows = db.execute(
        select(User, Grid)
        .join(Grid, or_(Grid.leader_id == User.id, member))
        .where(
            Grid.valid_to.is_(None),
            Grid.code.startswith(division, autoescape=True),
            User.role.in_(FIELD_ROLES),
            User.is_active,
        )
        .order_by(User.id, Grid.code)
    ).all()
    first: dict[int, tuple[User, Grid]] = {}
    for user, grid in rows:
        first.setdefault(user.id, (user, grid))
    return list(first.values())


def _patrol_share(db: Session, user: User, kind: GridKind, period: Period) -> float | None:
    days = db.scalars(
        select(PatrolDay.seconds).where(
            PatrolDay.user_id == user.id,
            PatrolDay.day >= period.first,
            PatrolDay.day <= period.last,
        )
    ).all()
    if not days:
        return None
    need = required_hours(kind) * 3600
    return sum(s >= need for s in days) / len(days)


def score_worker(
    db: Session, user: User, grid: Grid, quarter: str, period: Period
) -> tuple[dict[str, Any], float]:
    """The parts of a worker's quarter and the total out of 100."""
    scheme = scheme_for(db, user.role)
    parts: dict[str, Any] = {}
    values = compute(
        db,
        unit_kind="worker",
        unit_code=user.username,
        period=period,
        codes=list(scheme.indicators),
    )
    for code, weight in scheme.indicators.items():
        v = values[code].value
        rate = None if v is None else min(max(v, 0.0), 1.0)
        if rate is not None and INDICATORS[code].good == "down":
            rate = 1 - rate
        parts[code] = {
            "value": rate,
            "weight": weight,
            "points": None if rate is None else rate * weight,
        }
    if scheme.patrol:
        share = _patrol_share(db, user, grid.kind, period)
        parts["patrol"] = {
            "value": share,
            "weight": scheme.patrol,
            "points": None if share is None else share * scheme.patrol,
        }
    entries = {
        e.item: e.points
        for e in db.scalars(
            select(AppraisalEntry).where(
                AppraisalEntry.quarter == quarter, AppraisalEntry.user_id == user.id
            )
        )
    }
    for item, weight in scheme.manual_items.items():
        got = entries.get(item)
        parts[item] = {"value": None, "weight": weight, "points": got, "manual": True}
    with_data = [p for p in parts.values() if p["points"] is not None]
    possible = sum(p["weight"] for p in with_data)
    total = round(100 * sum(p["points"] for p in with_data) / possible, 1) if possible else 0.0
    return parts, total


def appraise_quarter(
    db: Session, *, quarter: str, division: str, actor: User | None
) -> list[Appraisal]:
    """Score every worker staffed under ``division`` for ``quarter``; ranked, comments kept."""
    period = Period.parse(quarter)
    if period.kind != "quarter":
        raise Invalid(f"an appraisal is for a quarter like 2026-Q4, not {quarter!r}")
    if actor is not None:
        scope.check_role(actor, Appraisal, "change")
        if not scope.Jurisdiction.of(actor).covers_code(division):
            raise Forbidden(f"{division} is outside your jurisdiction")
    scored = []
    for user, grid in workers_in(db, division):
        parts, total = score_worker(db, user, grid, quarter, period)
        scored.append((user, grid, parts, total))
    scored.sort(key=lambda s: -s[3])
    rows = []
    for rank, (user, grid, parts, total) in enumerate(scored, start=1):
        row = db.scalar(
            select(Appraisal).where(Appraisal.quarter == quarter, Appraisal.user_id == user.id)
        ) or Appraisal(quarter=quarter, user_id=user.id)
        row.territory_code, row.parts, row.total = grid.code, parts, total
        row.grade, row.rank = scheme_for(db, user.role).grade(total), rank
        db.add(row)
        rows.append(row)
    record(db, "appraisal.run", actor=actor, detail={"quarter": quarter, "division": division})
    db.commit()
    return rows


def comment(db: Session, appraisal: Appraisal, user: User, text: str) -> Appraisal:
    """The worker adds their comment to their own appraisal."""
    if appraisal.user_id != user.id:
        raise Forbidden("only the appraised worker may comment")
    appraisal.comment = text.strip()[:2000]
    record(db, "appraisal.comment", actor=user, object_type="appraisal", object_id=appraisal.id)
    db.commit()
    return appraisal


def year_totals(db: Session, year: int, user_ids: Sequence[int]) -> dict[int, float]:
    """The year-end evaluation: the sum of each worker's four quarterly totals."""
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    out: dict[int, float] = dict.fromkeys(user_ids, 0.0)
    for row in db.scalars(
        select(Appraisal).where(Appraisal.quarter.in_(quarters), Appraisal.user_id.in_(user_ids))
    ):
        out[row.user_id] += row.total
    return out


def unit_scores(db: Session, *, quarter: str, division: str) -> list[dict[str, Any]]:
    """Grid and department scores of the quarter, from the figures package's own evaluation."""
    from civgrid.departments.models import Department
    from civgrid.figures.scores import WEIGHTS, score

    period = Period.parse(quarter)
    units: list[tuple[str, str, str]] = [
        ("grid", g.code, g.name)
        for g in db.scalars(
            select(Grid)
            .where(Grid.valid_to.is_(None), Grid.code.startswith(division, autoescape=True))
            .order_by(Grid.code)
        )
    ]
    units += [
        ("department", d.code, d.name_zh)
        for d in db.scalars(
            select(Department)
            .where(Department.division_code.startswith(division, autoescape=True))
            .order_by(Department.code)
        )
    ]
    out = []
    for kind, code, name in units:
        weights = WEIGHTS["department" if kind == "department" else "region"]
        values = compute(db, unit_kind=kind, unit_code=code, period=period, codes=list(weights))
        s = score(values, weights)
        out.append({"kind": kind, "code": code, "name": name, "score": s.value, "grade": s.grade})
    return out
