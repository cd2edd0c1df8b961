"""Queries: categories, search, time limits, routing suggestions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role
from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.models import Category, CategoryKind, RoutingRule, Stage, TimeLimit
from civgrid.db.cache import TableCache
from civgrid.departments.models import Department
from civgrid.errors import Invalid, NotFound
from civgrid.text import is_digits

# The catalogue is public (the resident portal and Open311 list it); admins edit it.
scope.register(Category, roles={"view": set(Role), "change": {Role.ADMIN}}, public={"view"})
scope.register(TimeLimit, roles={"view": scope.STAFF, "change": {Role.ADMIN}})
scope.register(
    RoutingRule,
    roles={"view": scope.STAFF, "change": {Role.ADMIN}},
    condition=scope.by_code_prefix(RoutingRule.division_prefix),
)

# Used when neither the category nor an admin has set a stage's limit.
STAGE_DEFAULTS: dict[Stage, tuple[float, TimeUnit]] = {
    Stage.REGISTER: (1, TimeUnit.WORK_HOURS),
    Stage.DISPATCH: (1, TimeUnit.WORK_HOURS),
    Stage.HANDLE: (5, TimeUnit.WORK_DAYS),
    Stage.VERIFY: (1, TimeUnit.WORK_DAYS),
    Stage.CLOSE: (1, TimeUnit.WORK_DAYS),
    Stage.ACKNOWLEDGE: (0.5, TimeUnit.EMERGENCY_HOURS),
}
# A major emergency (火情火灾, 燃气泄漏 …) runs on continuous hours at every stage, unless its
# category has a limit of its own: the deployment's working-day defaults do not apply to it.
EMERGENCY_DEFAULTS: dict[Stage, tuple[float, TimeUnit]] = {
    Stage.REGISTER: (0.25, TimeUnit.EMERGENCY_HOURS),
    Stage.DISPATCH: (0.25, TimeUnit.EMERGENCY_HOURS),
    Stage.HANDLE: (4, TimeUnit.EMERGENCY_HOURS),
    Stage.VERIFY: (2, TimeUnit.EMERGENCY_HOURS),
    Stage.CLOSE: (2, TimeUnit.EMERGENCY_HOURS),
    Stage.ACKNOWLEDGE: (0.5, TimeUnit.EMERGENCY_HOURS),
}


def get_category(db: Session, code_or_id: str | int) -> Category:
    """A category by id or code (404 if unknown)."""
    if isinstance(code_or_id, int) or is_digits(str(code_or_id)):
        category = db.get(Category, int(code_or_id))
    else:
        category = db.scalar(select(Category).where(Category.code == code_or_id))
    if category is None:
        raise NotFound(f"category {code_or_id} not found")
    return category


def search_categories(
    db: Session,
    q: str = "",
    *,
    published_only: bool = False,
    kinds: Sequence[str] = ("matter", "service_item"),
    limit: int = 20,
) -> list[Category]:
    """Categories matching ``q``, best first: names in Chinese, English, pinyin or initials,
    everyday words ("pothole", "坑洼"), keywords, the class's names, or the code
    (``civgrid.catalogue.search``). All of them, by code, for an empty ``q``."""
    from civgrid.catalogue.search import search

    try:
        wanted = [CategoryKind(k) for k in kinds]
    except ValueError as exc:
        raise Invalid(f"unknown category kind: {exc}", kinds=list(map(str, kinds))) from exc
    return search(db, q, kinds=wanted, published_only=published_only, limit=limit)


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _load_time_limits(db: Session) -> dict[tuple[int | None, Stage], tuple[float, TimeUnit]]:
    rows = db.execute(
        select(TimeLimit.category_id, TimeLimit.stage, TimeLimit.amount, TimeLimit.unit).order_by(
            TimeLimit.id.desc()  # on a duplicate default, the oldest row wins
        )
    )
    return {(cat, stage): (amount, unit) for cat, stage, amount, unit in rows}


# Every time limit, read once per database and kept until they change (see civgrid.db.cache);
# deleting a category deletes its limits in the database, hence Category too.
_TIME_LIMITS = TableCache("time_limits", _load_time_limits, (TimeLimit, Category))


def time_limit_for(db: Session, category: Category | int, stage: Stage) -> tuple[float, TimeUnit]:
    """The category's limit for a stage, else (a major emergency) the emergency-hours one, else
    the deployment's default, else the built-in one."""
    category_id = category if isinstance(category, int) else category.id
    limits = _TIME_LIMITS.get(db)
    found = limits.get((category_id, stage))
    if found is None and is_major_emergency(db, category_id):
        found = EMERGENCY_DEFAULTS[stage]
    return found or limits.get((None, stage)) or STAGE_DEFAULTS[stage]


def _load_intake_facts(db: Session) -> dict[int, bool]:
    rows = db.execute(select(Category.id, Category.is_major_emergency))
    return {category_id: bool(major) for category_id, major in rows}


# What intake needs of every category (does it exist, is it a major emergency), kept like the
# time limits; a category created by another process in the last seconds is looked up directly.
_INTAKE_FACTS = TableCache("categories", _load_intake_facts, (Category,))


def is_major_emergency(db: Session, category_id: int) -> bool | None:
    """Whether the category is a major emergency (重大突发事件); None if it does not exist."""
    known = _INTAKE_FACTS.get(db).get(category_id)
    if known is None:
        category = db.get(Category, category_id)
        return None if category is None else bool(category.is_major_emergency)
    return known


def effective_time_limits(
    db: Session, category: Category
) -> list[tuple[Stage, float, TimeUnit, str]]:
    """Each stage's limit for a category and where it comes from: category, default, built-in."""
    rows = db.scalars(
        select(TimeLimit).where(
            or_(TimeLimit.category_id == category.id, TimeLimit.category_id.is_(None))
        )
    ).all()
    out = []
    for stage in Stage:
        own = [r for r in rows if r.stage == stage and r.category_id == category.id]
        default = [r for r in rows if r.stage == stage and r.category_id is None]
        if own:
            out.append((stage, own[0].amount, own[0].unit, "category"))
        elif category.is_major_emergency:
            out.append((stage, *EMERGENCY_DEFAULTS[stage], "emergency"))
        elif default:
            out.append((stage, default[0].amount, default[0].unit, "default"))
        else:
            out.append((stage, *STAGE_DEFAULTS[stage], "built-in"))
    return out


def matching_rules(db: Session, category: Category, division_code: str) -> list[RoutingRule]:
    """Rules that apply, most specific first: category over class, longer jurisdiction, priority."""
    return most_specific_first(category_rules(db, category), division_code)


def category_rules(db: Session, category: Category) -> Sequence[RoutingRule]:
    """The routing rules of a category or its major class, in every place."""
    return db.scalars(
        select(RoutingRule).where(
            or_(
                RoutingRule.category_id == category.id,
                RoutingRule.major_code == category.major_code,
            )
        )
    ).all()


def most_specific_first(rules: Sequence[RoutingRule], division_code: str) -> list[RoutingRule]:
    """The rules covering ``division_code``: category over class, longer prefix, priority."""
    applicable = [r for r in rules if division_code.startswith(r.division_prefix)]
    # On a full tie the older rule wins, so that the suggestion never depends on row order.
    return sorted(
        applicable,
        key=lambda r: (r.category_id is not None, len(r.division_prefix), r.priority, -(r.id or 0)),
        reverse=True,
    )


def staff_complaint_category(db: Session) -> Category | None:
    """The category complaints about grid staff are filed under (监督投诉), if it is set up."""
    return db.scalar(
        select(Category)
        .where(Category.is_staff_complaint, Category.is_active)
        .order_by(Category.code)
        .limit(1)
    )


def suggest_department(db: Session, category: Category, division_code: str) -> Department | None:
    """The responsible department for a category in a place, by the routing rules."""
    return suggest_from(category_rules(db, category), division_code)


def suggest_from(rules: Sequence[RoutingRule], division_code: str) -> Department | None:
    """``suggest_department`` from the category's rules (``category_rules``), read once for
    many places by the bulk writers."""
    for rule in most_specific_first(rules, division_code):
        if rule.department.is_active:
            return rule.department
    return None


def ensure_assignable_to_grid_worker(category: Category) -> None:
    """Refuse a category that is not on the published matter list (事项清单)."""
    if not category.is_published or not category.is_active:
        raise Invalid(
            f"category {category.code} {category.name_zh} is not on the published matter list; "
            "it cannot be assigned to grid workers",
            category=category.code,
        )
