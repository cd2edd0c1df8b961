"""Editing the catalogue: categories, the published matter list, time limits, routing rules.
Every admin edit is audited."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.loader import LoadResult, load_catalogue, pinyin_keywords
from civgrid.catalogue.models import Category, CategoryKind, RoutingRule, Stage, TimeLimit
from civgrid.departments.models import Department
from civgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civgrid.text import is_digits

__all__ = [
    "LoadResult",
    "add_routing_rule",
    "create_category",
    "delete_routing_rule",
    "delete_time_limit",
    "load_catalogue",
    "set_time_limit",
    "update_category",
    "update_routing_rule",
]

# The first letter of a category code names its kind; then 2-digit major + 3-digit minor.
KIND_PREFIX = {
    CategoryKind.COMPONENT: "C",
    CategoryKind.MATTER: "M",
    CategoryKind.SERVICE_ITEM: "G",
}
CODE_RE = re.compile(r"^[CMG]\d{5}$")
# Division codes have 2, 4, 6, 9 or 12 digits; a prefix of another length names no jurisdiction.
PREFIX_LENGTHS = {0, 2, 4, 6, 9, 12}


def _require_admin(actor: User, *, division_prefix: str | None = None) -> None:
    """An admin; deployment-wide for the shared list, else covering the rule's jurisdiction."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may edit the catalogue")
    jurisdiction = scope.Jurisdiction.of(actor)
    if division_prefix is None and not jurisdiction.everywhere:
        # Categories and time limits are shared by every township of the deployment.
        raise Forbidden(
            "the matter list and its time limits are shared by the whole deployment; "
            "only an administrator with a deployment-wide scope may edit them"
        )
    if division_prefix is not None and not jurisdiction.covers_code(division_prefix):
        raise NotFound(f"division {division_prefix or '(all)'} is outside your jurisdiction")


def create_category(
    db: Session,
    *,
    actor: User,
    ip: str = "",
    code: str,
    kind: CategoryKind,
    name_zh: str,
    name_en: str = "",
    major_name_zh: str = "",
    major_name_en: str = "",
    keywords: str = "",
    is_published: bool = True,
    is_major_emergency: bool = False,
) -> Category:
    """Add a local category; its code is the kind's letter + 2-digit major + 3-digit minor."""
    _require_admin(actor)
    code = code.strip().upper()
    if not CODE_RE.match(code) or code[0] != KIND_PREFIX[kind]:
        raise Invalid(
            f"category code {code!r} must be {KIND_PREFIX[kind]} + 2-digit major "
            "+ 3-digit minor class, e.g. "
            f"{KIND_PREFIX[kind]}18001",
            code=code,
        )
    if db.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise Conflict(f"category {code} already exists", code=code)
    major_code = code[:3]
    sibling = db.scalar(select(Category).where(Category.major_code == major_code).limit(1))
    if sibling is not None:
        major_name_zh = major_name_zh or sibling.major_name_zh
        major_name_en = major_name_en or sibling.major_name_en
    if not major_name_zh.strip() or not name_zh.strip():
        raise Invalid("a new category needs its Chinese name and its major class's name")
    category = Category(
        code=code,
        kind=kind,
        major_code=major_code,
        major_name_zh=major_name_zh.strip(),
        major_name_en=major_name_en.strip(),
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        standard_ref="local",
        keywords=f"{keywords} {pinyin_keywords(name_zh, keywords)}".strip(),
        is_published=is_published,
        is_major_emergency=is_major_emergency,
        is_active=True,
        # A local row has no data file behind it: nothing to reload over it.
        names_edited=True,
    )
    db.add(category)
    db.flush()
    record(
        db,
        "category.create",
        actor=actor,
        ip=ip,
        object_type="category",
        object_id=code,
        detail={"name_zh": category.name_zh, "kind": str(kind), "published": is_published},
    )
    db.commit()
    return category


def update_category(
    db: Session, category: Category, *, actor: User, ip: str = "", **changes: object
) -> Category:
    """Edit names or flags (published list, emergency, private, active) of a category."""
    _require_admin(actor)
    allowed = {"name_zh", "name_en", "keywords"} | {
        "is_published",
        "is_major_emergency",
        "is_private",
        "is_active",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}")
    if "name_zh" in changes and not str(changes["name_zh"]).strip():
        raise Invalid("a category needs a Chinese name")
    before = {k: getattr(category, k) for k in changes}
    for key, value in changes.items():
        setattr(category, key, value)
    if {"name_zh", "name_en", "keywords"} & set(changes):
        # A reload of the data files must not undo the admin's wording.
        category.names_edited = True
    record(
        db,
        "category.update",
        actor=actor,
        ip=ip,
        object_type="category",
        object_id=category.code,
        detail={"before": before, "after": changes},
    )
    db.commit()
    return category


def set_time_limit(
    db: Session,
    category: Category | None,
    stage: Stage,
    amount: float,
    unit: TimeUnit,
    *,
    condition: str = "",
    actor: User,
    ip: str = "",
) -> TimeLimit:
    """Set a stage's limit for a category, or the deployment default when no category is given."""
    _require_admin(actor)
    if not amount > 0:  # also refuses NaN
        raise Invalid(f"a time limit must be positive, not {amount}", amount=amount)
    cid = category.id if category else None
    same_category = TimeLimit.category_id.is_(None) if cid is None else TimeLimit.category_id == cid
    row = db.scalar(select(TimeLimit).where(same_category, TimeLimit.stage == stage))
    row = row or TimeLimit(category_id=cid, stage=stage)
    row.amount, row.unit, row.condition = amount, unit, condition
    db.add(row)
    record(
        db,
        "time_limit.set",
        actor=actor,
        ip=ip,
        object_type="category",
        object_id=category.code if category else "*",
        detail={"stage": str(stage), "amount": amount, "unit": str(unit)},
    )
    db.commit()
    return row


def delete_time_limit(
    db: Session, category: Category | None, stage: Stage, *, actor: User, ip: str = ""
) -> None:
    """Remove a category's own limit for a stage, so that the stage default applies again."""
    _require_admin(actor)
    same_category = (
        TimeLimit.category_id.is_(None)
        if category is None
        else TimeLimit.category_id == category.id
    )
    row = db.scalar(select(TimeLimit).where(same_category, TimeLimit.stage == stage))
    if row is None:
        raise NotFound(f"no {stage} time limit set for {category.code if category else '*'}")
    db.delete(row)
    record(
        db,
        "time_limit.delete",
        actor=actor,
        ip=ip,
        object_type="category",
        object_id=category.code if category else "*",
        detail={"stage": str(stage)},
    )
    db.commit()


def add_routing_rule(
    db: Session,
    *,
    department_code: str,
    category: Category | None = None,
    major_code: str | None = None,
    division_prefix: str = "",
    priority: int = 0,
    actor: User | None,
    ip: str = "",
) -> RoutingRule:
    """Route a category (or a whole major class) in a jurisdiction to a department."""
    if actor is not None:
        _require_admin(actor, division_prefix=division_prefix)
    if (category is None) == (major_code is None):
        raise Invalid("a routing rule names either a category or a major class, not both")
    _check_prefix(division_prefix)
    if (
        major_code is not None
        and db.scalar(select(Category.id).where(Category.major_code == major_code).limit(1)) is None
    ):
        raise Invalid(f"unknown major class {major_code!r}")
    department = _department(db, department_code)
    rule = RoutingRule(
        category_id=category.id if category else None,
        major_code=major_code,
        division_prefix=division_prefix,
        department_id=department.id,
        priority=priority,
    )
    db.add(rule)
    db.flush()
    record(
        db,
        "routing_rule.add",
        actor=actor,
        ip=ip,
        object_type="routing_rule",
        object_id=rule.id,
        detail={
            "department": department_code,
            "category": category.code if category else None,
            "major": major_code,
            "prefix": division_prefix,
            "priority": priority,
        },
    )
    db.commit()
    return rule


def _check_prefix(division_prefix: str) -> None:
    if (division_prefix and not is_digits(division_prefix)) or len(
        division_prefix
    ) not in PREFIX_LENGTHS:
        raise Invalid(
            f"division prefix {division_prefix!r} must be a division code "
            "(2, 4, 6, 9 or 12 digits) or empty for everywhere",
            division_prefix=division_prefix,
        )


def _department(db: Session, code: str) -> Department:
    department = db.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise Invalid(f"unknown department {code!r}", department=code)
    return department


def update_routing_rule(
    db: Session,
    rule: RoutingRule,
    *,
    actor: User,
    ip: str = "",
    department_code: str | None = None,
    division_prefix: str | None = None,
    priority: int | None = None,
) -> RoutingRule:
    """Change a rule's department, jurisdiction or priority (its category or class stays)."""
    _require_admin(actor, division_prefix=rule.division_prefix)
    if division_prefix is not None:
        _require_admin(actor, division_prefix=division_prefix)
    before = {
        "department": rule.department.code,
        "prefix": rule.division_prefix,
        "priority": rule.priority,
    }
    department = _department(db, department_code) if department_code is not None else None
    if division_prefix is not None:
        _check_prefix(division_prefix)
        rule.division_prefix = division_prefix
    if department is not None:
        rule.department_id = department.id
        rule.department = department
    if priority is not None:
        rule.priority = priority
    after = {
        "department": rule.department.code,
        "prefix": rule.division_prefix,
        "priority": rule.priority,
    }
    record(
        db,
        "routing_rule.update",
        actor=actor,
        ip=ip,
        object_type="routing_rule",
        object_id=rule.id,
        detail={"before": before, "after": after},
    )
    db.commit()
    return rule


def delete_routing_rule(db: Session, rule_id: int, *, actor: User, ip: str = "") -> None:
    """Remove a routing rule (admin)."""
    rule = db.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"routing rule {rule_id} not found")
    _require_admin(actor, division_prefix=rule.division_prefix)
    db.delete(rule)
    record(
        db, "routing_rule.delete", actor=actor, ip=ip, object_type="routing_rule", object_id=rule_id
    )
    db.commit()
