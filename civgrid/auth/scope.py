"""The one scope helper: which rows a user may see or change, by role and jurisdiction.

Every route that reads scoped rows goes through :func:`restrict` (lists) or
:func:`get_for` (one row). A row outside the user's jurisdiction is reported exactly like a
missing row (404), as Zulip's ``access_*_by_id`` and NetBox's ``restrict()`` do.

Jurisdiction is expressed with codes: division codes and grid codes are hierarchical (a grid
code starts with its village code, a village code with its township code …), so "inside my
jurisdiction" is "the row's territory code starts with one of my codes".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, inspect, or_, select, true
from sqlalchemy.orm import Session

from civgrid.auth.models import Role, ScopeKind, User
from civgrid.errors import Forbidden, NotFound, Unauthorized

T = TypeVar("T")

STAFF = frozenset(r for r in Role if r != Role.RESIDENT)


@dataclass(frozen=True)
class Jurisdiction:
    """What a user's scopes add up to."""

    everywhere: bool = False
    codes: tuple[str, ...] = ()  # division and grid code prefixes
    departments: tuple[str, ...] = ()  # department codes
    # Who holds it: for rows assigned to one person (a care household's grid worker).
    user_id: int | None = None
    role: Role | None = None

    @classmethod
    def of(cls, user: User) -> Jurisdiction:
        kinds: dict[str, list[str]] = {}
        for s in user.scopes:
            kinds.setdefault(s.kind, []).append(s.ref)
        return cls(
            everywhere=ScopeKind.ALL in kinds,
            codes=tuple(kinds.get(ScopeKind.DIVISION, []) + kinds.get(ScopeKind.GRID, [])),
            departments=tuple(kinds.get(ScopeKind.DEPARTMENT, [])),
            user_id=user.id,
            role=user.role,
        )

    def covers_code(self, code: str) -> bool:
        return self.everywhere or any(code.startswith(p) for p in self.codes)


Condition = Callable[[Jurisdiction], ColumnElement[bool]]


def by_code_prefix(column: Any) -> Condition:
    """Rows whose territory code lies inside one of the user's codes."""

    def condition(j: Jurisdiction) -> ColumnElement[bool]:
        return or_(false(), *[column.startswith(code, autoescape=True) for code in j.codes])

    return condition


def by_department(column: Any) -> Condition:
    """Rows belonging to one of the user's departments (column holds department codes)."""

    def condition(j: Jurisdiction) -> ColumnElement[bool]:
        return column.in_(j.departments) if j.departments else false()

    return condition


def any_of(*conditions: Condition) -> Condition:
    def condition(j: Jurisdiction) -> ColumnElement[bool]:
        return or_(*[c(j) for c in conditions])

    return condition


@dataclass(frozen=True)
class Resource:
    model: type
    roles: Mapping[str, Collection[Role]]  # action -> roles allowed to do it at all
    condition: Condition | None = None  # None: not territorial, the role check suffices
    public: frozenset[str] = field(default_factory=frozenset)  # actions open to anonymous
    # Rows reached only through a side door (e.g. a case a department was summoned to) allow
    # only these actions, by door; the role check still applies.
    via: Mapping[str, frozenset[str]] = field(default_factory=dict)


_RESOURCES: dict[type, Resource] = {}


def register(
    model: type,
    *,
    roles: Mapping[str, Collection[Role]],
    condition: Condition | None = None,
    public: Collection[str] = (),
    via: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Declare how ``model`` is scoped. Each domain calls this once, next to its models."""
    doors = {k: frozenset(v) for k, v in (via or {}).items()}
    _RESOURCES[model] = Resource(model, roles, condition, frozenset(public), doors)


def resource(model: type) -> Resource:
    try:
        return _RESOURCES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} has no scope rule; call auth.scope.register") from None


def check_role(user: User | None, model: type, action: str) -> None:
    """Raise 401 for anonymous and 403 for a role that may never do ``action`` on ``model``."""
    res = resource(model)
    if action in res.public:
        return
    if user is None:
        raise Unauthorized("login required")
    if user.role not in res.roles.get(action, ()):
        raise Forbidden(f"role {user.role} may not {action} {model.__name__.lower()}")


def check_via(model: type, door: str, action: str, what: str) -> None:
    """403 unless a row reached through ``door`` allows ``action`` (see ``register(via=…)``)."""
    if action not in resource(model).via.get(door, ()):
        raise Forbidden(
            f"{what}: a {door} allows only {', '.join(sorted(resource(model).via[door]))}"
        )


def restrict(
    query: Select[Any], user: User | None, action: str, model: type | None = None
) -> Select[Any]:
    """Limit ``query`` to the rows ``user`` may ``action``; raises for anonymous or wrong role."""
    model = model or query.column_descriptions[0]["entity"]
    if model is None:
        raise LookupError("restrict() needs a query over a mapped model")
    res = resource(model)
    check_role(user, model, action)
    if user is None or res.condition is None:
        return query
    j = Jurisdiction.of(user)
    return query.where(true() if j.everywhere else res.condition(j))


def get_for(db: Session, user: User | None, model: type[T], ident: Any, action: str = "view") -> T:
    """One row by primary key, or 404 if it is missing or outside the user's scope."""
    pk = inspect(model).primary_key[0]
    row = db.scalar(restrict(select(model).where(pk == ident), user, action, model))
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {ident} not found")
    return row
