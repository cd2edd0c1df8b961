"""The inspection plans page (/inspections/plans): the grid office and admins create, edit and
retire plans in their territory; and the checklists page (/inspections/checklists) where admins
edit items. Every change goes through the audited actions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.db.session import get_page_db
from civgrid.errors import CivgridError, Invalid, NotFound
from civgrid.inspections import actions
from civgrid.inspections.models import ChecklistItem, ChecklistTemplate, InspectionPlan
from civgrid.inspections.schemas import MAX_ID
from civgrid.text import is_digits
from civgrid.web.i18n import N_
from civgrid.web.templating import render

pages = APIRouter(prefix="/inspections/plans", include_in_schema=False)
PageDB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]


def _context(db: Session, user: User) -> dict[str, Any]:
    plans = db.scalars(
        scope.restrict(select(InspectionPlan), user, "view").order_by(
            InspectionPlan.is_active.desc(), InspectionPlan.territory_code, InspectionPlan.id
        )
    ).all()
    templates = db.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.is_active.is_(True))
        .order_by(ChecklistTemplate.code)
    ).all()
    return {"nav": "inspections", "plans": plans, "templates": templates, "error": None, "form": {}}


@pages.get("")
def plans_page(request: Request, db: PageDB, user: Staff) -> Response:
    """The plans in the user's territory, a form for a new one, and each one's edit form."""
    scope.check_role(user, InspectionPlan, "change")
    return render(request, "inspections/plans.html", _context(db, user))


def _int(form: dict[str, str], field: str) -> int:
    value = form.get(field, "").strip()
    if not is_digits(value) or len(value) > 6:
        raise Invalid(N_("the interval must be at least one day"), field=field)
    return int(value)


def _date(form: dict[str, str], field: str) -> date:
    try:
        return date.fromisoformat(form.get(field, "").strip())
    except ValueError:
        raise Invalid(
            N_("not a date (write 2026-12-31): %(value)s"), value=form.get(field, "")[:20]
        ) from None


def _apply(db: Session, user: User, plan_id: int | None, form: dict[str, str]) -> None:
    if plan_id is None:
        template_id = form.get("template", "")
        template = scope.get_for(
            db, user, ChecklistTemplate, int(template_id) if is_digits(template_id) else 0, "view"
        )
        actions.add_plan(
            db,
            template=template,
            territory_code=form.get("territory", "").strip()[:16],
            every_days=_int(form, "every_days"),
            starts_on=_date(form, "starts_on"),
            selector=form.get("selector", "").strip(),
            actor=user,
        )
        return
    plan = scope.get_for(db, user, InspectionPlan, plan_id, "change")
    if "retire" in form:
        actions.retire_plan(db, plan, actor=user)
    else:
        actions.edit_plan(
            db,
            plan,
            actor=user,
            every_days=_int(form, "every_days"),
            starts_on=_date(form, "starts_on"),
            selector=form.get("selector", ""),
        )


async def _submit(request: Request, db: Session, user: User, plan_id: int | None) -> Response:
    scope.check_role(user, InspectionPlan, "change")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def run() -> Response:
        try:
            _apply(db, user, plan_id, form)
        except CivgridError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            db.rollback()
            ctx = _context(db, user) | {"error": exc, "form": form}
            return render(request, "inspections/plans.html", ctx, status_code=exc.status_code)
        return RedirectResponse("/inspections/plans", status_code=303)

    return await run_in_threadpool(run)


@pages.post("")
async def create_plan(request: Request, db: PageDB, user: Staff) -> Response:
    return await _submit(request, db, user, None)


@pages.post("/{plan_id:int}")
async def change_plan(
    request: Request, db: PageDB, user: Staff, plan_id: Annotated[int, Path(le=MAX_ID)]
) -> Response:
    return await _submit(request, db, user, plan_id)


# --- checklist items (admins) --------------------------------------------------------------

checklist_pages = APIRouter(prefix="/inspections/checklists", include_in_schema=False)
ITEM_FIELDS = ("text_zh", "text_en", "pass_rule_zh", "pass_rule_en", "category_code")


def _checklists(db: Session, user: User) -> dict[str, Any]:
    templates = db.scalars(
        scope.restrict(select(ChecklistTemplate), user, "view").order_by(ChecklistTemplate.code)
    ).all()
    return {"nav": "inspections", "templates": templates, "error": None, "error_item": None}


@checklist_pages.get("")
def checklists_page(request: Request, db: PageDB, user: Staff) -> Response:
    """The checklist templates with a form per item (admins)."""
    scope.check_role(user, ChecklistTemplate, "change")
    return render(request, "inspections/checklists.html", _checklists(db, user))


@checklist_pages.post("/items/{item_id:int}")
async def edit_item_page(
    request: Request, db: PageDB, user: Staff, item_id: Annotated[int, Path(le=MAX_ID)]
) -> Response:
    """One item's form: the same audited, version-checked ``edit_item`` as the API."""
    scope.check_role(user, ChecklistTemplate, "change")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def run() -> Response:
        item = db.get(ChecklistItem, item_id)
        if item is None:
            raise NotFound(f"checklist item {item_id} not found")
        try:
            fields: dict[str, Any] = {f: form[f].strip() for f in ITEM_FIELDS if f in form}
            if not fields.get("text_zh", "x"):
                raise Invalid(N_("required"), field="text_zh")
            if "limit_amount" in form:
                try:
                    fields["limit_amount"] = float(form["limit_amount"])
                except ValueError:
                    raise Invalid(
                        N_("not a number: %(value)s"), value=form["limit_amount"][:20]
                    ) from None
                if not 0 < fields["limit_amount"] <= 10_000:
                    raise Invalid(N_("not a number: %(value)s"), value=form["limit_amount"][:20])
            fields["is_active"] = form.get("is_active") == "1"
            version = int(form["version"]) if is_digits(form.get("version", "")) else 0
            actions.edit_item(db, item, actor=user, version=version, **fields)
        except CivgridError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            db.rollback()
            ctx = _checklists(db, user) | {"error": exc, "error_item": item_id}
            return render(request, "inspections/checklists.html", ctx, status_code=exc.status_code)
        return RedirectResponse(f"/inspections/checklists#item-{item_id}", status_code=303)

    return await run_in_threadpool(run)
