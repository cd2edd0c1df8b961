"""The mediation desk (调解工作台): disputes, figures, a dispute's page and its actions (thin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.care.forms import upload
from civgrid.desk.routes import DB, Staff, require
from civgrid.errors import CivgridError, NotFound
from civgrid.grids.service import current_grids
from civgrid.mediation import actions, forms, service
from civgrid.mediation.agreement import agreement_pdf
from civgrid.mediation.models import DisputeKind
from civgrid.mediation.transitions import (
    DisputeAction,
    Referral,
    SessionOutcome,
    allowed_actions,
)
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)
ACTIONS = {"session", "escalate", "refer", "follow_up"}


@router.get("/mediation")
def desk(request: Request, user: Staff, db: DB) -> Response:
    """The mediation desk: disputes in my scope, open ones first, and the figures."""
    require(user, service.MEDIATOR_ROLES)
    ctx = {
        "disputes": service.disputes_for(db, user),
        "figures": service.figures(db, user),
        "kinds": list(DisputeKind),
        "nav": "mediation",
    }
    return render(request, "mediation/desk.html", ctx)


def _new_ctx(db: Session, user: User, form: dict[str, str]) -> dict[str, Any]:
    return {
        "grids": current_grids(db, user),
        "kinds": list(DisputeKind),
        "slots": range(1, forms.PARTY_SLOTS + 1),
        "form": form,
        "nav": "mediation",
    }


@router.get("/mediation/new")
def new_form(request: Request, user: Staff, db: DB) -> Response:
    require(user, service.MEDIATOR_ROLES)
    form = {"case": request.query_params.get("case", "")[:32]}
    return render(request, "mediation/new.html", _new_ctx(db, user, form))


@router.post("/mediation/new")
async def new_submit(request: Request, user: Staff, db: DB) -> Response:
    require(user, service.MEDIATOR_ROLES)
    form = await request.form()

    def work() -> Response:
        try:
            d = forms.create(db, user, form)
        except CivgridError as exc:
            db.rollback()
            if exc.status_code in (401, 403):
                raise
            values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
            ctx = {**_new_ctx(db, user, values), "error": exc}
            return render(request, "mediation/new.html", ctx, status_code=exc.status_code)
        return RedirectResponse(f"/mediation/{d.id}", status_code=303)

    return await run_in_threadpool(work)


def _dispute_ctx(db: Session, user: User, dispute_id: int) -> dict[str, Any]:
    d = service.get_dispute_for(db, user, dispute_id)
    offered = [a.value for a in allowed_actions(d.state, d.tier)]
    mediates = user.role in service.TIER_ROLES[d.tier]
    higher = d.tier.higher()
    agreement = service.agreement_of(db, d)
    return {
        "d": d,
        "is_mediator": user.id == d.mediator_id,
        "summary": service.shown(user, d, d.summary),
        "parties": service.parties_for(db, user, d, purpose="mediation desk"),
        "sessions": [
            (s, service.shown(user, d, s.notes), service.shown(user, d, s.attendees))
            for s in service.sessions_of(db, d)
        ],
        "events": service.events_of(db, d),
        "agreement": agreement,
        "terms": service.shown(user, d, agreement.terms) if agreement else "",
        "offered": offered if mediates else [a for a in offered if a == DisputeAction.ATTACH],
        "mediators": service.eligible_mediators(db, higher, d.territory_code) if higher else [],
        "mediator": db.get(User, d.mediator_id),
        "outcomes": list(SessionOutcome),
        "referrals": list(Referral),
        "nav": "mediation",
    }


@router.get("/mediation/{dispute_id}")
def dispute_page(request: Request, dispute_id: int, user: Staff, db: DB) -> Response:
    require(user, service.MEDIATOR_ROLES)
    ctx = _dispute_ctx(db, user, dispute_id)
    return render(
        request, "mediation/dispute.html", {**ctx, "done": request.query_params.get("done")}
    )


@router.post("/mediation/{dispute_id}/signed")
async def signed_copy(request: Request, dispute_id: int, user: Staff, db: DB) -> Response:
    require(user, service.MEDIATOR_ROLES)
    form = await request.form()
    try:
        name, content = await upload(form)
    except CivgridError as exc:
        return await run_in_threadpool(_again, request, db, user, dispute_id, exc)

    def work() -> Response:
        try:
            actions.attach_signed_agreement(
                db, dispute_id, actor=user, filename=name, content=content
            )
        except CivgridError as exc:
            db.rollback()
            if exc.status_code in (401, 403, 404):
                raise
            return _again(request, db, user, dispute_id, exc)
        return RedirectResponse(f"/mediation/{dispute_id}?done=signed", status_code=303)

    return await run_in_threadpool(work)


def _again(
    request: Request, db: Session, user: User, dispute_id: int, exc: CivgridError
) -> Response:
    ctx = {**_dispute_ctx(db, user, dispute_id), "error": exc}
    return render(request, "mediation/dispute.html", ctx, status_code=exc.status_code)


@router.post("/mediation/{dispute_id}/{name}")
async def dispute_action(
    request: Request, dispute_id: int, name: str, user: Staff, db: DB
) -> Response:
    """Run one mediation action from its form; errors show on the dispute's page."""
    require(user, service.MEDIATOR_ROLES)
    if name not in ACTIONS:
        raise NotFound(f"no action {name}")
    form = await request.form()

    def work() -> Response:
        try:
            forms.act(db, user, dispute_id, name, form)
        except CivgridError as exc:
            db.rollback()
            if exc.status_code in (401, 404):
                raise
            return _again(request, db, user, dispute_id, exc)
        return RedirectResponse(f"/mediation/{dispute_id}?done={name}", status_code=303)

    return await run_in_threadpool(work)


@router.get("/mediation/{dispute_id}/agreement.pdf")
def agreement(dispute_id: int, user: Staff, db: DB) -> Response:
    """The printable mediation agreement (调解协议书)."""
    require(user, service.MEDIATOR_ROLES)
    d = service.get_dispute_for(db, user, dispute_id)
    pdf = agreement_pdf(db, user, d)
    headers = {"Content-Disposition": f'inline; filename="{d.number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/mediation/{dispute_id}/signed")
def signed_download(dispute_id: int, user: Staff, db: DB) -> Response:
    require(user, service.MEDIATOR_ROLES)
    d = service.get_dispute_for(db, user, dispute_id)
    a = service.agreement_of(db, d)
    if a is None or a.signed_copy is None:
        raise NotFound(f"dispute {d.number} has no signed agreement")
    service.parties_for(db, user, d, purpose="signed agreement")
    headers = {"Content-Disposition": f'attachment; filename="{d.number}-signed"'}
    return Response(a.signed_copy, media_type=a.signed_content_type or "", headers=headers)
