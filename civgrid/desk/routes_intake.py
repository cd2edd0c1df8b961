"""Taking a report for a caller at the command center (电话受理 / 窗口受理), thin.

The 12345 hotline and the walk-in window: the staff member searches the category and the
address (the ledger's standard addresses) or clicks the map, and the report goes through the
same intake as every other, with the hotline or walk-in as its source.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases.actions.intake import CALL_SOURCES
from civgrid.cases.models import Case
from civgrid.catalogue.service import search_categories
from civgrid.desk import forms
from civgrid.desk.routes import DB, Staff
from civgrid.errors import CivgridError
from civgrid.ledger.service import search_addresses
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)

# Fields shown again after a refused submit (never the CSRF token).
KEPT = ("source", "caller_name", "phone", "email", "q", "category_id", "description")
KEPT_PLACE = ("lon", "lat", "address", "address_q")


def _may_take_calls(user: User) -> None:
    """403 unless the role may take reports for callers (the case permission ``take_call``)."""
    scope.check_role(user, Case, "take_call")


def _page(
    request: Request, form: dict[str, str], error: CivgridError | None = None, status: int = 200
) -> Response:
    ctx: dict[str, Any] = {"nav": "intake", "form": form, "error": error, "sources": CALL_SOURCES}
    return render(request, "desk/intake.html", ctx, status_code=status)


@router.get("/desk/intake")
def intake_form(request: Request, user: Staff) -> Response:
    """The form for a report by phone or at the window."""
    _may_take_calls(user)
    return _page(request, {"source": CALL_SOURCES[0].value})


@router.get("/desk/intake/categories")
def intake_categories(
    request: Request,
    user: Staff,
    db: DB,
    q: Annotated[str, Query(max_length=50)] = "",
    category_id: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """HTMX fragment: the category search of the field app, for the intake form; the category
    chosen before (``category_id``) stays chosen when it is among the results."""
    _may_take_calls(user)
    found = search_categories(db, q.strip(), published_only=True, limit=12) if q.strip() else []
    ctx = {"categories": found, "q": q, "chosen": category_id}
    return render(request, "desk/_categories.html", ctx)


@router.get("/desk/intake/addresses")
def intake_addresses(
    request: Request, user: Staff, db: DB, address_q: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """HTMX fragment: standard addresses of the ledger in the user's territory matching the
    form's ``address_q``."""
    _may_take_calls(user)
    q = address_q.strip()
    found = search_addresses(db, user, q, limit=10) if q else []
    return render(request, "desk/_addresses.html", {"addresses": found, "q": q})


@router.post("/desk/intake")
async def intake_submit(request: Request, user: Staff, db: DB) -> Response:
    """Report the case; a refused report shows the form again with what was entered."""
    _may_take_calls(user)
    db.rollback()  # no transaction (SQLite: no lock) while the form is read
    form = await request.form()
    return await run_in_threadpool(_take, request, db, user, form)


def _take(request: Request, db: Session, user: User, form: Any) -> Response:
    try:
        case = forms.phone_report(db, user, form)
    except CivgridError as exc:
        db.rollback()
        kept = {k: forms.text(form, k) for k in (*KEPT, *KEPT_PLACE)}
        return _page(request, kept, exc, exc.status_code)
    return RedirectResponse(f"/desk/cases/{case.number}?done=report", status_code=303)
