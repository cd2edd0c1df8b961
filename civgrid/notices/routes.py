"""Notice pages: staff read and confirm in the field app; publishers publish; the public reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.care.forms import choice, field
from civgrid.desk.routes import DB, Staff, require
from civgrid.errors import CivgridError, NotFound
from civgrid.grids.models import NeighbourhoodUnit
from civgrid.grids.service import current_grids
from civgrid.notices import actions, service
from civgrid.notices.models import Notice, NoticeKind, TargetKind
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/notices")
def public_list(
    request: Request, db: DB, area: Annotated[str, Query(max_length=16, pattern=r"^\d*$")] = ""
) -> Response:
    """Public notices (通知公告), for an area if asked. Nothing about the reader is recorded."""
    ctx = {"notices": service.public_notices(db, area), "area": area, "nav": "notices"}
    return render(request, "notices/public.html", ctx)


@router.get("/field/notices")
def staff_list(request: Request, user: Staff, db: DB) -> Response:
    """Notices for my area, with a button to confirm reading each."""
    require(user, scope.resource(Notice).roles["view"])
    ctx = {
        "rows": service.notices_for(db, user),
        "can_publish": user.role in service.PUBLISH_ROLES,
        "nav": "notices",
    }
    return render(request, "notices/staff.html", ctx)


@router.post("/field/notices/{notice_id}/read")
def confirm(notice_id: int, user: Staff, db: DB) -> Response:
    actions.confirm_read(db, notice_id, actor=user)
    return RedirectResponse("/field/notices", status_code=303)


def _new_ctx(db: Session, user: User, form: dict[str, str]) -> dict[str, Any]:
    grids = current_grids(db, user)
    units = db.scalars(
        select(NeighbourhoodUnit)
        .where(NeighbourhoodUnit.grid_id.in_([g.id for g in grids]))
        .order_by(NeighbourhoodUnit.name)
    ).all()
    villages = sorted({g.village_code for g in grids})
    return {
        "grids": grids,
        "units": units,
        "villages": villages,
        "kinds": list(NoticeKind),
        "form": form,
        "nav": "notices",
    }


@router.get("/notices/new")
def new_form(request: Request, user: Staff, db: DB) -> Response:
    require(user, service.PUBLISH_ROLES)
    return render(request, "notices/new.html", _new_ctx(db, user, {}))


@router.post("/notices/new")
async def new_submit(request: Request, user: Staff, db: DB) -> Response:
    require(user, service.PUBLISH_ROLES)
    form = await request.form()

    def work() -> Response:
        try:
            targets = [
                (TargetKind(kind), str(ref))
                for kind in TargetKind
                for ref in form.getlist(kind.value)
                if isinstance(ref, str) and ref
            ]
            notice = actions.publish_notice(
                db,
                actor=user,
                kind=choice(NoticeKind, form, "kind"),
                title=field(form, "title"),
                body=field(form, "body"),
                targets=targets,
                public=field(form, "public") == "1",
            )
        except CivgridError as exc:
            db.rollback()
            if exc.status_code in (401, 403):
                raise
            values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
            ctx = {**_new_ctx(db, user, values), "error": exc}
            return render(request, "notices/new.html", ctx, status_code=exc.status_code)
        return RedirectResponse(f"/notices/{notice.id}/receipts", status_code=303)

    return await run_in_threadpool(work)


@router.get("/notices/{notice_id}/receipts")
def receipts(request: Request, notice_id: int, user: Staff, db: DB) -> Response:
    """Which staff have confirmed reading a notice."""
    require(user, service.PUBLISH_ROLES)
    notice = scope.get_for(db, user, Notice, notice_id, "view")
    ctx = {"notice": notice, "receipts": service.receipts(db, notice), "nav": "notices"}
    return render(request, "notices/receipts.html", ctx)


@router.get("/notices/{notice_id}")
def public_notice(request: Request, notice_id: int, db: DB) -> Response:
    notice = db.get(Notice, notice_id)
    if notice is None or not notice.is_public:
        raise NotFound(f"notice {notice_id} not found")
    return render(request, "notices/notice.html", {"notice": notice, "nav": "notices"})
