"""What the dashboard, the wall and the reports show: KPIs, children on a map, lists, ranking."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.calendar.service import get_calendar
from civgrid.calendar.units import Light
from civgrid.cases.models import Case, CaseSummons
from civgrid.cases.transitions import OPEN, CaseState
from civgrid.catalogue.models import Category
from civgrid.departments.models import Department
from civgrid.divisions.models import Division
from civgrid.errors import NotFound
from civgrid.figures import periods
from civgrid.figures.indicators import INDICATORS
from civgrid.figures.models import FigureCount
from civgrid.figures.periods import Period, tz
from civgrid.figures.scores import WEIGHTS, Score, evaluation_for, score
from civgrid.figures.service import IndicatorValue, compute, compute_each
from civgrid.figures.units import TERRITORIAL, UNIT_KINDS, Unit, unit_for
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid

FIGURE_ROLES = frozenset({Role.ADMIN, Role.DUTY_CHIEF, Role.DISPATCHER, Role.GRID_LEADER})
KPI_CODES = (
    "reports",
    "valid_report_rate",
    "closure_rate",
    "on_time_closure_rate",
    "overdue",
    "satisfaction_rate",
    "close_hours_median",
    "grassroots_rate",
)
CHILD_KIND = {
    "province": "city",
    "city": "county",
    "county": "township",
    "township": "village",
    "village": "grid",
}
LIST_LIMIT = 50

# The figures' rows are read only by the roles above, inside their jurisdiction.
scope.register(
    FigureCount,
    roles={"view": FIGURE_ROLES},
    condition=scope.any_of(
        scope.by_code_prefix(FigureCount.territory_code),
        scope.by_department(FigureCount.department_code),
    ),
)


def kind_of(code: str) -> str:
    """The unit kind a territory code names, by its length."""
    for kind, length in UNIT_KINDS.items():
        if length == len(code):
            return kind
    return "grid"


def default_unit(db: Session, user: User) -> tuple[str, str]:
    """The user's own jurisdiction: their first division or grid; everywhere: the busiest."""
    j = scope.Jurisdiction.of(user)
    if j.codes:
        code = sorted(j.codes, key=len)[0]
        return kind_of(code), code
    latest = db.scalar(select(Case.territory_code).order_by(Case.id.desc()).limit(1))
    return ("township", latest[:9]) if latest else ("province", "44")


def authorize(db: Session, user: User | None, kind: str, code: str) -> Unit:
    """401 / 403 by role (the scope table), 404 for a unit outside the user's jurisdiction."""
    scope.check_role(user, FigureCount, "view")
    assert user is not None  # noqa: S101  (check_role raised for anonymous)
    unit = unit_for(db, kind, code)
    j = scope.Jurisdiction.of(user)
    if j.everywhere:
        return unit
    if unit.territorial and j.covers_code(unit.code):
        return unit
    if unit.kind == "department":
        dept = db.scalar(select(Department).where(Department.code == unit.code))
        if dept is not None and (unit.code in j.departments or j.covers_code(dept.division_code)):
            return unit
    if unit.kind == "worker":
        worker = db.get(User, unit.worker_id)
        refs = [s.ref for s in worker.scopes] if worker else []
        if refs and all(j.covers_code(r) for r in refs):
            return unit
    raise NotFound(f"{kind} {code} not found")


def unit_name(db: Session, unit: Unit) -> str:
    if unit.kind == "grid":
        return db.scalar(select(Grid.name).where(Grid.code == unit.code)) or unit.code
    if unit.kind == "department":
        return (
            db.scalar(select(Department.name_zh).where(Department.code == unit.code)) or unit.code
        )
    if unit.kind == "worker":
        return unit.code
    return db.scalar(select(Division.name).where(Division.code == unit.code)) or unit.code


def breadcrumbs(db: Session, unit: Unit) -> list[tuple[str, str, str]]:
    """(kind, code, name) from the province down to the unit: the way back up."""
    if not unit.territorial:
        return []
    codes = [unit.code[:n] for n in (2, 4, 6, 9, 12) if n < len(unit.code)] + [unit.code]
    rows = db.execute(select(Division.code, Division.name).where(Division.code.in_(codes)))
    names = {code: name for code, name in rows}
    out = []
    for code in codes:
        kind = kind_of(code)
        name = names.get(code) or (unit_name(db, Unit(kind, code)) if kind == "grid" else code)
        out.append((kind, code, name))
    return out


@dataclass(frozen=True)
class Kpi:
    code: str
    now: IndicatorValue
    previous: IndicatorValue
    year_before: IndicatorValue

    @property
    def indicator(self):  # type: ignore[no-untyped-def]
        return INDICATORS[self.code]

    @staticmethod
    def change(a: IndicatorValue, b: IndicatorValue) -> float | None:
        """Change in points for a rate, relative change for a count; None without data."""
        if a.value is None or b.value is None:
            return None
        if INDICATORS[a.code].is_rate:
            return a.value - b.value
        return None if not b.value else (a.value - b.value) / b.value

    @property
    def mom(self) -> float | None:  # 环比
        return self.change(self.now, self.previous)

    @property
    def yoy(self) -> float | None:  # 同比
        return self.change(self.now, self.year_before)


def kpis(
    db: Session, unit: Unit, period: Period, now: datetime, codes: tuple[str, ...] = KPI_CODES
) -> list[Kpi]:
    """The indicators ``codes`` (the KPI strip's by default) now, 环比 and 同比."""

    def run(p: Period) -> dict[str, IndicatorValue]:
        return compute(db, unit_kind=unit.kind, unit_code=unit.code, period=p, codes=codes, now=now)

    a, b, c = run(period), run(period.previous()), run(period.year_before())
    return [Kpi(code, a[code], b[code], c[code]) for code in codes]


@dataclass(frozen=True)
class Child:
    kind: str
    code: str
    name: str
    shape: BaseGeometry | None
    value: IndicatorValue


def children(db: Session, unit: Unit, period: Period, code: str, now: datetime) -> list[Child]:
    """The unit's children (one level down) with the indicator, and their outline from grids."""
    kind = CHILD_KIND.get(unit.kind)
    if kind is None:
        return []
    grids = db.execute(
        select(Grid.code, Grid.name, Grid.geometry).where(
            Grid.code.startswith(unit.code, autoescape=True), Grid.valid_to.is_(None)
        )
    ).all()
    shapes: dict[str, list[BaseGeometry]] = defaultdict(list)
    names: dict[str, str] = {}
    length = UNIT_KINDS[kind]
    for g in grids:
        key = g.code if kind == "grid" else g.code[:length]
        shapes[key].append(from_text(g.geometry))
        if kind == "grid":
            names[key] = g.name
    if kind != "grid":
        names.update(
            db.execute(
                select(Division.code, Division.name).where(
                    Division.parent_code == unit.code, Division.valid_to.is_(None)
                )
            ).all()
        )
    codes = sorted(set(shapes) | set(names))
    values = compute_each(db, [Unit(kind, c) for c in codes], period, codes=[code], now=now)
    out = []
    for child_code in codes:
        parts = shapes.get(child_code)
        shape = unary_union(parts) if parts else None
        name = names.get(child_code, child_code)
        out.append(Child(kind, child_code, name, shape, values[child_code][code]))
    return out


def case_points(
    db: Session, unit: Unit, period: Period, category_id: int | None
) -> list[tuple[float, float]]:
    """Where the unit's cases of the period were reported (for the heat map)."""
    start, end = period.bounds(tz())
    q = select(Case.lon, Case.lat).where(Case.reported_at >= start, Case.reported_at < end)
    if unit.territorial:
        q = q.where(Case.territory_code.startswith(unit.code, autoescape=True))
    if category_id is not None:
        q = q.where(Case.category_id == category_id)
    return [(lon, lat) for lon, lat in db.execute(q.limit(20000))]


@dataclass(frozen=True)
class Ranked:
    code: str
    name: str
    score: Score
    values: dict[str, IndicatorValue]


def ranking(db: Session, unit: Unit, period: Period, now: datetime) -> list[Ranked]:
    """Departments of the unit's area by composite score (部门评价), best first."""
    prefix = unit.code[:9] if unit.territorial else ""
    depts = db.execute(
        select(Department.code, Department.name_zh).where(
            Department.is_active, Department.division_code.startswith(prefix[:6] if prefix else "")
        )
    ).all()
    weights = WEIGHTS[evaluation_for("department")]
    units = [Unit("department", code) for code, _name in depts]
    each = compute_each(db, units, period, codes=list(weights), now=now)
    out = [Ranked(code, name, score(each[code], weights), each[code]) for code, name in depts]
    return sorted(out, key=lambda r: (r.score.value is None, -(r.score.value or 0), r.code))


@dataclass(frozen=True)
class Listed:
    number: str
    category: str
    state: CaseState
    territory: str
    due_at: datetime | None
    light: Light | None


def _open_query(unit: Unit):  # type: ignore[no-untyped-def]
    active = [s for s in OPEN if s != CaseState.SUSPENDED]
    q = (
        select(Case, Category)
        .join(Category, Category.id == Case.category_id)
        .where(Case.state.in_(active), Case.due_at.is_not(None))
    )
    if unit.territorial:
        q = q.where(Case.territory_code.startswith(unit.code, autoescape=True))
    elif unit.kind == "department":
        q = q.where(Case.department_code == unit.code)
    return q


@dataclass
class Lists:
    overdue: list[Listed] = field(default_factory=list)
    by_light: dict[str, int] = field(default_factory=dict)
    yellow: list[Listed] = field(default_factory=list)
    summons: list[tuple[str, str, datetime]] = field(default_factory=list)


def lists(db: Session, unit: Unit, now: datetime, locale: str = "zh_CN") -> Lists:
    """Now: overdue cases, open cases by light, summons not acknowledged (no personal data)."""
    cal = get_calendar(db)
    out = Lists(by_light={"green": 0, "yellow": 0, "red": 0})
    rows = db.execute(_open_query(unit).order_by(Case.due_at, Case.id).limit(5000)).all()
    for case, category in rows:
        light = None
        if case.stage_started_at and case.due_at and case.due_unit:
            light = cal.light(case.stage_started_at, case.due_at, now, case.due_unit)
        if light is None:
            continue
        out.by_light[light.value] += 1
        row = Listed(
            case.number, category.name(locale), case.state, case.territory_code, case.due_at, light
        )
        if light == Light.RED and len(out.overdue) < LIST_LIMIT:
            out.overdue.append(row)
        elif light == Light.YELLOW and len(out.yellow) < LIST_LIMIT:
            out.yellow.append(row)
    q = (
        select(Case.number, CaseSummons.department_code, CaseSummons.due_at)
        .join(Case, Case.id == CaseSummons.case_id)
        .where(CaseSummons.acknowledged_at.is_(None), Case.state.in_(list(OPEN)))
        .order_by(CaseSummons.due_at)
        .limit(LIST_LIMIT)
    )
    if unit.territorial:
        q = q.where(Case.territory_code.startswith(unit.code, autoescape=True))
    out.summons = [tuple(r) for r in db.execute(q)]  # type: ignore[misc]
    return out


def trend(
    db: Session, unit: Unit, kind: str, code: str, today: date, now: datetime, n: int = 12
) -> list[tuple[str, IndicatorValue]]:
    """The indicator over the last ``n`` weeks or months, oldest first."""
    p = periods.current(kind, today)
    seq = [p]
    for _ in range(n - 1):
        seq.append(seq[-1].previous())
    return [
        (
            x.label,
            compute(db, unit_kind=unit.kind, unit_code=unit.code, period=x, codes=[code], now=now)[
                code
            ],
        )
        for x in reversed(seq)
    ]


def categories(db: Session, locale: str = "zh_CN") -> list[tuple[int, str]]:
    """The categories cases were reported in, by code, named in ``locale``."""
    used = select(Case.category_id).distinct()
    rows = db.scalars(select(Category).where(Category.id.in_(used)).order_by(Category.code))
    return [(c.id, c.name(locale)) for c in rows]


def territorial_kinds() -> tuple[str, ...]:
    return TERRITORIAL


def case_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Case)) or 0
