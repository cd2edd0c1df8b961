"""Care pages (thin): the programme list, enrolment, a household's record, field visits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.care import actions, forms, service
from civgrid.care.models import CareDocument, CareGroup, Consenter, VisitOutcome
from civgrid.desk.routes import DB, Staff, require
from civgrid.errors import CivgridError
from civgrid.grids.service import current_grids
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)


def _again(request: Request, template: str, ctx: dict[str, Any], exc: CivgridError) -> Response:
    return render(request, template, {**ctx, "error": exc}, status_code=exc.status_code)


async def _post(
    request: Request,
    db: Session,
    run: Callable[[Any], Response],
    again: Callable[[Any, CivgridError], Response],
) -> Response:
    form = await request.form()

    def work() -> Response:
        try:
            return run(form)
        except CivgridError as exc:
            db.rollback()
            if exc.status_code in (401, 403, 404):
                raise
            return again(form, exc)

    return await run_in_threadpool(work)


def _values(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


@router.get("/care")
def programme(request: Request, user: Staff, db: DB) -> Response:
    """关爱服务: the households in my care, next visit first, and anonymous counts."""
    require(user, service.VIEW_ROLES)
    ctx = {
        "rows": service.schedule(db, user),
        "counts": service.counts(db, user),
        "goal": service.YEARLY_GOAL,
        "can_enrol": user.role in service.FIELD_ROLES,
        "nav": "care",
    }
    return render(request, "care/programme.html", ctx)


def _enrol_ctx(db: Session, user: User, form: dict[str, str]) -> dict[str, Any]:
    return {
        "grids": current_grids(db, user),
        "groups": list(CareGroup),
        "consenters": list(Consenter),
        "form": form,
        "nav": "care",
    }


@router.get("/care/new")
def enrol_form(request: Request, user: Staff, db: DB) -> Response:
    require(user, service.FIELD_ROLES)
    return render(request, "care/enrol.html", _enrol_ctx(db, user, {}))


@router.post("/care/new")
async def enrol_submit(request: Request, user: Staff, db: DB) -> Response:
    require(user, service.FIELD_ROLES)

    def run(form: Any) -> Response:
        e = forms.enrol(db, user, form)
        return RedirectResponse(f"/care/{e.id}?done=enrol", status_code=303)

    def again(form: Any, exc: CivgridError) -> Response:
        return _again(request, "care/enrol.html", _enrol_ctx(db, user, _values(form)), exc)

    return await _post(request, db, run, again)


@router.get("/care/consent-form")
def consent_form(request: Request, user: Staff) -> Response:
    """The printable consent form (知情同意书) the person or guardian signs."""
    require(user, service.VIEW_ROLES)
    ctx = {"groups": list(CareGroup), "version": actions.CONSENT_FORM_VERSION}
    return render(request, "care/consent_form.html", ctx)


def _record_ctx(db: Session, user: User, enrolment_id: int) -> dict[str, Any]:
    e = service.get_enrolment_for(db, user, enrolment_id)
    person = service.person_for(db, user, e, purpose="care record") if e.person_kept else None
    year = service.local_today().year
    return {
        "e": e,
        "person": person,
        "consent": service.consent_of(db, e),
        "visits": service.visits_of(db, e),
        "cases": service.cases_of(db, e),
        "documents": service.documents_of(db, e),
        "solved": service.solved_counts(db, [e.id], year=year).get(e.id, 0),
        "goal": service.YEARLY_GOAL,
        "year": year,
        "nav": "care",
    }


@router.get("/care/{enrolment_id}")
def record(request: Request, enrolment_id: int, user: Staff, db: DB) -> Response:
    """One household's record: person (read logged), consent, visits, needs and the goal."""
    require(user, service.VIEW_ROLES)
    ctx = _record_ctx(db, user, enrolment_id)
    return render(request, "care/record.html", {**ctx, "done": request.query_params.get("done")})


@router.post("/care/{enrolment_id}/withdraw")
async def withdraw(request: Request, enrolment_id: int, user: Staff, db: DB) -> Response:
    require(user, service.VIEW_ROLES)

    def run(form: Any) -> Response:
        actions.withdraw(db, enrolment_id, actor=user)
        return RedirectResponse(f"/care/{enrolment_id}?done=withdraw", status_code=303)

    def again(form: Any, exc: CivgridError) -> Response:
        return _again(request, "care/record.html", _record_ctx(db, user, enrolment_id), exc)

    return await _post(request, db, run, again)


@router.post("/care/{enrolment_id}/consent-copy")
async def consent_copy(request: Request, enrolment_id: int, user: Staff, db: DB) -> Response:
    require(user, service.FIELD_ROLES)
    form = await request.form()
    try:
        name, content = await forms.upload(form)
    except CivgridError as exc:
        ctx = await run_in_threadpool(_record_ctx, db, user, enrolment_id)
        return _again(request, "care/record.html", ctx, exc)

    def run(_form: Any) -> Response:
        actions.attach_consent_copy(db, enrolment_id, actor=user, filename=name, content=content)
        return RedirectResponse(f"/care/{enrolment_id}?done=copy", status_code=303)

    def again(_form: Any, exc: CivgridError) -> Response:
        return _again(request, "care/record.html", _record_ctx(db, user, enrolment_id), exc)

    return await _post(request, db, run, again)


@router.get("/care/{enrolment_id}/documents/{document_id}")
def document(enrolment_id: int, document_id: int, user: Staff, db: DB) -> Response:
    """A signed copy, for those who may see the record (the read is logged)."""
    require(user, service.VIEW_ROLES)
    e = service.get_enrolment_for(db, user, enrolment_id)
    doc = db.get(CareDocument, document_id)
    if doc is None or doc.enrolment_id != e.id:
        raise forms.missing("document", document_id)
    service.person_for(db, user, e, purpose="signed consent copy")
    headers = {"Content-Disposition": f'attachment; filename="consent-{doc.id}"'}
    return Response(doc.content, media_type=doc.content_type, headers=headers)


# --- the field app: visit schedule and visit record, at phone size ---------------------------


@router.get("/field/visits")
def visit_schedule(request: Request, user: Staff, db: DB) -> Response:
    """My visit schedule (走访安排), next due first."""
    require(user, service.FIELD_ROLES)
    ctx = {
        "rows": service.schedule(db, user),
        "nav": "visits",
        "done": request.query_params.get("done"),
    }
    return render(request, "care/visits.html", ctx)


def _visit_ctx(db: Session, user: User, enrolment_id: int, form: dict[str, str]) -> dict[str, Any]:
    e = service.get_enrolment_for(db, user, enrolment_id, "visit")
    return {
        "e": e,
        "person": service.person_for(db, user, e, purpose="home visit"),
        "outcomes": list(VisitOutcome),
        "today": service.local_today().isoformat(),
        "form": form,
        "nav": "visits",
    }


@router.get("/field/visits/{enrolment_id}")
def visit_form(request: Request, enrolment_id: int, user: Staff, db: DB) -> Response:
    require(user, service.FIELD_ROLES)
    return render(request, "care/visit.html", _visit_ctx(db, user, enrolment_id, {}))


@router.post("/field/visits/{enrolment_id}")
async def visit_submit(request: Request, enrolment_id: int, user: Staff, db: DB) -> Response:
    require(user, service.FIELD_ROLES)

    def run(form: Any) -> Response:
        forms.visit(db, user, enrolment_id, form)
        return RedirectResponse(f"/field/visits?done={enrolment_id}", status_code=303)

    def again(form: Any, exc: CivgridError) -> Response:
        ctx = _visit_ctx(db, user, enrolment_id, _values(form))
        return _again(request, "care/visit.html", ctx, exc)

    return await _post(request, db, run, again)
