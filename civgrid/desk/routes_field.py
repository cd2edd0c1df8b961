"""The grid worker's field app (移动端): my grid's cases, report with photos, verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases import pending
from civgrid.catalogue.models import Category
from civgrid.catalogue.service import search_categories
from civgrid.desk import forms, service
from civgrid.desk.routes import DB, Staff, require
from civgrid.errors import CivgridError, NotFound
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/field")
def field_home(request: Request, user: Staff, db: DB) -> Response:
    """My grid's open cases and my verification tasks (核查任务)."""
    require(user, service.FIELD_ROLES)
    lists = service.desk_lists(db, user, ["verify", "open"])
    ctx = {
        "verify": lists["verify"],
        "rows": lists["open"],
        "nav": "field",
        "reported": request.query_params.get("reported", ""),
    }
    return render(request, "desk/field.html", ctx)


@router.get("/field/report")
def report_form(request: Request, user: Staff) -> Response:
    require(user, service.FIELD_ROLES)
    return render(request, "desk/report.html", {"nav": "report", "form": {}})


@router.get("/field/categories")
def category_picker(
    request: Request,
    user: Staff,
    db: DB,
    q: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """HTMX fragment: published categories matching Chinese, English, pinyin or keywords."""
    require(user, service.FIELD_ROLES)
    found = search_categories(db, q.strip(), published_only=True, limit=12) if q.strip() else []
    return render(request, "desk/_categories.html", {"categories": found, "q": q})


@router.post("/field/report")
async def report_submit(request: Request, user: Staff, db: DB) -> Response:
    """Report a case; with "fixed on the spot" it is self-handled and closed at once."""
    require(user, service.FIELD_ROLES)
    db.rollback()  # no transaction (SQLite: no lock) while the upload is read
    form = await request.form()
    photos, bad_photo = await forms.report_photos(request.session, form)
    if bad_photo is not None:
        return await run_in_threadpool(_form_again, request, db, form, bad_photo, photos)
    return await run_in_threadpool(_report, request, db, user, form, photos)


def _report(request: Request, db: Session, user: User, form: Any, photos: list[Any]) -> Response:
    require(user, service.FIELD_ROLES)
    try:
        case = forms.report(db, user, form, photos)
    except CivgridError as exc:
        db.rollback()
        return _form_again(request, db, form, exc, photos)
    forms.drop_photos(request.session)
    return RedirectResponse(f"/field?reported={case.number}", status_code=303)


def _form_again(
    request: Request, db: Session, form: Any, exc: CivgridError, photos: list[Any]
) -> Response:
    """The form again with what was entered: category, position, text and (kept) photos."""
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    ctx = {"nav": "report", "form": values, "error": exc, "chosen": _chosen(db, form)}
    ctx |= forms.keep_photos(request.session, photos)
    return render(request, "desk/report.html", ctx, status_code=exc.status_code)


def _chosen(db: Session, form: Any) -> Category | None:
    """The category a refused form had chosen, shown chosen again (if still on the list)."""
    try:
        category = db.get(Category, int(forms.text(form, "category_id")))
    except ValueError:
        return None
    if category is None or not (category.is_active and category.is_published):
        return None
    return category


@router.get("/field/pending/{token}/{number}")
def pending_photo(request: Request, user: Staff, token: str, number: int) -> Response:
    """A thumbnail of a photo kept from this session's refused report form."""
    require(user, service.FIELD_ROLES)
    mine = token == request.session.get(forms.PENDING)
    path = pending.thumbnail(token, number) if mine else None
    if path is None or not path.exists():
        raise NotFound("this photo is no longer kept; please choose it again")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
