"""Catalogue API: search and read (public), admin edits, routing rules, time limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import Role, User
from civgrid.catalogue import actions, service
from civgrid.catalogue.models import Category, CategoryKind, RoutingRule, Stage, TimeLimit
from civgrid.catalogue.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    EffectiveLimitOut,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatch,
    Suggestion,
    TimeLimitIn,
    TimeLimitOut,
)
from civgrid.db.session import get_db
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1", tags=["catalogue"], responses=AUTHENTICATED)
DB = Annotated[Session, Depends(get_db)]
Staff = Annotated[User, Depends(current_user)]


@api.get("/categories", response_model=list[CategoryOut])
def search(
    db: DB,
    q: Annotated[str, Query(max_length=50)] = "",
    published_only: bool = False,
    kind: Annotated[list[CategoryKind], Query()] = [  # noqa: B006
        CategoryKind.MATTER,
        CategoryKind.SERVICE_ITEM,
    ],
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[Category]:
    """Search the catalogue by Chinese, English, pinyin or initials, keywords or code (public)."""
    return service.search_categories(db, q, published_only=published_only, kinds=kind, limit=limit)


@api.post("/categories", response_model=CategoryOut, status_code=201)
def create_category(body: CategoryIn, request: Request, db: DB, user: Staff) -> Category:
    """Add a local category to the list (admin); a new major class needs its names."""
    return actions.create_category(db, actor=user, ip=client_ip(request), **body.model_dump())


@api.get("/categories/{code}", response_model=CategoryOut)
def get_category(code: str, db: DB) -> Category:
    """One category by code or id (public)."""
    return service.get_category(db, code)


@api.patch("/categories/{code}", response_model=CategoryOut)
def patch_category(
    code: str, body: CategoryPatch, request: Request, db: DB, user: Staff
) -> Category:
    """Edit names or flags; ``is_published`` puts a category on or off the matter list (admin)."""
    category = service.get_category(db, code)
    return actions.update_category(
        db, category, actor=user, ip=client_ip(request), **body.model_dump(exclude_none=True)
    )


@api.get("/categories/{code}/suggestion", response_model=Suggestion)
def suggestion(
    code: str, db: DB, user: Staff, division: Annotated[str, Query(pattern=r"^\d{2,14}$")]
) -> Suggestion:
    """The department the routing rules suggest for this category in this place."""
    scope.check_role(user, RoutingRule, "view")
    category = service.get_category(db, code)
    dept = service.suggest_department(db, category, division)
    return Suggestion(
        category=category.code,
        division_code=division,
        department=dept.code if dept else None,
        department_name=dept.name_zh if dept else None,
    )


@api.get("/time-limits", response_model=list[TimeLimitOut])
def list_time_limits(db: DB, user: Staff, category: str | None = None) -> list[TimeLimit]:
    """The time limits set per category and stage, and the stage defaults (staff)."""
    query = scope.restrict(select(TimeLimit).order_by(TimeLimit.id), user, "view")
    if category:
        query = query.where(TimeLimit.category_id == service.get_category(db, category).id)
    return list(db.scalars(query))


@api.get("/time-limits/effective", response_model=list[EffectiveLimitOut])
def effective_time_limits(db: DB, user: Staff, category: str) -> list[EffectiveLimitOut]:
    """Every stage's limit for a category, with its source (category, default, built-in)."""
    scope.check_role(user, TimeLimit, "view")
    cat = service.get_category(db, category)
    return [
        EffectiveLimitOut(stage=stage, amount=amount, unit=unit, source=source)
        for stage, amount, unit, source in service.effective_time_limits(db, cat)
    ]


@api.put("/time-limits", response_model=TimeLimitOut)
def put_time_limit(body: TimeLimitIn, request: Request, db: DB, user: Staff) -> TimeLimit:
    """Set a stage's time limit for a category, or the stage default (admin)."""
    category = service.get_category(db, body.category) if body.category else None
    return actions.set_time_limit(
        db,
        category,
        body.stage,
        body.amount,
        body.unit,
        condition=body.condition,
        actor=user,
        ip=client_ip(request),
    )


@api.delete("/time-limits", status_code=204)
def delete_time_limit(
    request: Request, db: DB, user: Staff, stage: Stage, category: str | None = None
) -> Response:
    """Remove a category's limit for a stage (the default applies again) (admin)."""
    cat = service.get_category(db, category) if category else None
    actions.delete_time_limit(db, cat, stage, actor=user, ip=client_ip(request))
    return Response(status_code=204)


@api.get("/routing-rules", response_model=list[RoutingRuleOut])
def list_rules(db: DB, user: Staff) -> list[RoutingRule]:
    """The routing rules inside the user's jurisdiction (staff)."""
    query = scope.restrict(select(RoutingRule).order_by(RoutingRule.id), user, "view")
    return list(db.scalars(query))


@api.post("/routing-rules", response_model=RoutingRuleOut, status_code=201)
def add_rule(body: RoutingRuleIn, request: Request, db: DB, user: Staff) -> RoutingRule:
    """Add a routing rule (admin, inside the admin's jurisdiction)."""
    scope.check_role(user, RoutingRule, "change")
    category = service.get_category(db, body.category) if body.category else None
    return actions.add_routing_rule(
        db,
        department_code=body.department,
        category=category,
        major_code=body.major_code,
        division_prefix=body.division_prefix,
        priority=body.priority,
        actor=user,
        ip=client_ip(request),
    )


@api.patch("/routing-rules/{rule_id}", response_model=RoutingRuleOut)
def patch_rule(
    rule_id: int, body: RoutingRulePatch, request: Request, db: DB, user: Staff
) -> RoutingRule:
    """Change a rule's department, jurisdiction or priority (admin, inside the jurisdiction)."""
    rule = scope.get_for(db, user, RoutingRule, rule_id, "change")
    return actions.update_routing_rule(
        db,
        rule,
        actor=user,
        ip=client_ip(request),
        department_code=body.department,
        division_prefix=body.division_prefix,
        priority=body.priority,
    )


@api.delete("/routing-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: int, request: Request, db: DB, user: Staff) -> Response:
    """Remove a routing rule (admin, inside the jurisdiction)."""
    scope.get_for(db, user, RoutingRule, rule_id, "change")
    actions.delete_routing_rule(db, rule_id, actor=user, ip=client_ip(request))
    return Response(status_code=204)


pages = APIRouter(prefix="/catalogue", include_in_schema=False)


@pages.get("", response_class=HTMLResponse)
def list_page(
    request: Request,
    db: DB,
    user: Staff,
    q: Annotated[str, Query(max_length=50)] = "",
    kind: str = "",
) -> HTMLResponse:
    """The matter list for staff; deployment-wide admins publish and unpublish here."""
    scope.check_role(user, TimeLimit, "view")
    kinds = [kind] if kind in {k.value for k in CategoryKind} else ["matter", "service_item"]
    found = service.search_categories(db, q, kinds=kinds, limit=500)
    rows = [(c, service.time_limit_for(db, c, Stage.HANDLE)) for c in found]
    rules = db.scalars(scope.restrict(select(RoutingRule).order_by(RoutingRule.id), user, "view"))
    return render(
        request,
        "catalogue/list.html",
        {
            "rows": rows,
            "rules": list(rules),
            "q": q,
            "kind": kind,
            "kinds": list(CategoryKind),
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "can_edit": user.role == Role.ADMIN and scope.Jurisdiction.of(user).everywhere,
        },
    )


@pages.post("/{code}/published")
async def publish_form(code: str, request: Request, db: DB, user: Staff) -> Response:
    """Put a category on or off the published matter list, then show the list again (PRG)."""
    form = await request.form()
    category = service.get_category(db, code)
    actions.update_category(
        db, category, actor=user, ip=client_ip(request), is_published=form.get("published") == "1"
    )
    back = str(form.get("back", ""))
    if not back.startswith("/catalogue"):
        back = "/catalogue"
    return RedirectResponse(f"{back}#c-{category.code}", status_code=303)
