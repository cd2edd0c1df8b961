"""Staff desk pages: command center, department queue, grid leader view, case page (thin)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import Role, User
from civgrid.cases import service as cases
from civgrid.cases.attachments import Rendition, rendition_file
from civgrid.cases.duplicates import find_duplicates
from civgrid.cases.models import Case, CaseAttachment
from civgrid.db.base import utcnow
from civgrid.db.session import get_page_db
from civgrid.desk import forms, freshness, service
from civgrid.errors import CivgridError, Forbidden, Invalid, NotFound
from civgrid.grids.service import grid_name
from civgrid.web.i18n import request_locale
from civgrid.web.templating import render
from civgrid.workforce.service import on_duty

router = APIRouter(include_in_schema=False)


DB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]


def require(user: User, roles: Collection[Role]) -> User:
    """403 unless the user holds one of ``roles`` (jurisdiction is checked per case: 404)."""
    if user.role not in roles:
        raise Forbidden("this page is for other roles", roles=sorted(r.value for r in roles))
    return user


@router.get("/desk")
def landing(user: Staff) -> Response:
    """Each role's start page (角色首页)."""
    target = service.landing_for(user)
    if target is None:
        raise Forbidden("this page is for staff")
    return RedirectResponse(target, status_code=303)


@router.get("/desk/command")
def command_center(request: Request, user: Staff, db: DB) -> Response:
    """指挥中心: incoming, to dispatch, approvals, to close, overdue."""
    require(user, service.COMMAND_ROLES)
    board = service.command_center(db, user)
    duty = on_duty(db, user, at=utcnow())
    return render(request, "desk/command.html", {"board": board, "nav": "command", "duty": duty})


@router.get("/desk/command/fragment")
def command_fragment(request: Request, user: Staff, db: DB) -> Response:
    """The queues alone, refreshed by HTMX every minute: 304 when nothing shown changed.

    The ETag comes from one aggregate over the open cases in the user's scope, read before the
    lists (``civgrid.desk.freshness``): a change committed meanwhile makes the next tag differ,
    and a matching tag answers 304 without reading any list.
    """
    require(user, service.COMMAND_ROLES)
    tag = freshness.refresh_tag(db, user, request_locale(request), utcnow())
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    board = service.command_center(db, user)
    response = render(request, "desk/_board.html", {"board": board})
    response.headers.update(headers)
    return response


@router.get("/desk/lists/{name}")
def desk_list(name: str, request: Request, user: Staff, db: DB) -> Response:
    """One desk list in full, a page at a time (keyset cursor), with its total."""
    if name not in service.LISTS:
        raise NotFound(f"no list {name}")
    return _list_page(request, user, db, name, nav="")


@router.get("/desk/overdue")
def overdue_list(request: Request, user: Staff, db: DB) -> Response:
    return _list_page(request, user, db, "overdue", nav="overdue")


def _list_page(request: Request, user: User, db: Session, name: str, *, nav: str) -> Response:
    cursor = request.query_params.get("cursor") or None
    view = service.desk_list(db, user, name, size=service.PAGE, cursor=cursor)
    ctx = {"view": view, "title": view.list.title, "nav": nav}
    return render(request, "desk/list.html", ctx)


@router.get("/desk/map")
def case_map(request: Request, user: Staff) -> Response:
    """Open cases coloured by deadline light over the grids (Leaflet, no tiles)."""
    require(user, service.COMMAND_ROLES | service.LEADER_ROLES)
    return render(request, "desk/map.html", {"nav": "map"})


@router.get("/desk/map/cases.geojson")
def cases_geojson(
    user: Staff,
    db: DB,
    bbox: Annotated[str, Query(max_length=100, description="west,south,east,north")] = "",
) -> JSONResponse:
    """Open cases in the box: points, or beyond 500 groups with counts (all represented)."""
    require(user, service.STAFF_ROLES)
    return JSONResponse(service.cases_geojson(db, user, _bbox(bbox)))


def _bbox(text: str) -> service.BBox | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise Invalid("bbox must be four numbers: west,south,east,north") from None
    box = service.BBox(west, south, east, north)
    inside = -180 <= west <= east <= 180 and -90 <= south <= north <= 90
    if not inside:
        raise Invalid("bbox must be four numbers: west,south,east,north")
    return box


@router.get("/desk/queue")
def department_queue(request: Request, user: Staff, db: DB) -> Response:
    """The department handler's queue, most urgent deadline first."""
    require(user, service.HANDLER_ROLES)
    return _list_page(request, user, db, "queue", nav="queue")


@router.get("/desk/leader")
def leader_view(request: Request, user: Staff, db: DB) -> Response:
    """网格长: the grid's open cases with lights, and the cases waiting on the leader."""
    require(user, service.LEADER_ROLES)
    lists = service.desk_lists(db, user, ["verify", "overdue", "open"])
    ctx: dict[str, Any] = {"waiting": lists["verify"], "overdue": lists["overdue"]}
    ctx.update(rows=lists["open"], nav="leader")
    return render(request, "desk/leader.html", ctx)


def _case_page(
    request: Request,
    db: Session,
    user: User,
    case: Case,
    *,
    error: CivgridError | None = None,
    status_code: int = 200,
) -> Response:
    category = service.categories_by_id(db, [case.category_id])[case.category_id]
    summons = cases.summons_of(db, case)
    offered = forms.offered(user, case, summons)
    events = cases.events_of(db, case)
    ctx: dict[str, Any] = {
        "case": case,
        "category": category,
        "events": events,
        "actors": service.actor_names(db, events),
        "grid_name": grid_name(db, case.grid_code),
        "limits": cases.time_limits(db, case, events),
        "summons": summons,
        "attachments": service.attachments_of(db, case),
        "offered": offered,
        "department": service.department(db, case.department_code),
        "may_call_back": user.role in cases.CONTACT_ROLES
        and bool(case.reporter_phone or case.reporter_email or case.reporter_name),
        "error": error,
        "done": forms.done_action(request.query_params.get("done", "")),
        "nav": "",
    }
    if {"register", "merge"} & set(offered):  # likely duplicates: register, or merge into one
        ctx["duplicates"] = find_duplicates(
            db,
            category_id=case.category_id,
            lon=case.lon,
            lat=case.lat,
            at=case.reported_at,
            exclude_id=case.id,
            limit=5,
        )
    if {"dispatch", "summon"} & set(offered):
        ctx["suggested"] = cases.routing_suggestion(db, case)
        ctx["departments"] = service.active_departments(db)
    return render(request, "desk/case.html", ctx, status_code=status_code)


@router.get("/desk/cases/{number}")
def case_page(number: str, request: Request, user: Staff, db: DB) -> Response:
    """One case: facts, lights, timeline, photos and the actions the user may take."""
    require(user, service.STAFF_ROLES)
    case = cases.get_case_for(db, user, number)
    return _case_page(request, db, user, case)


@router.get("/desk/cases/{number}/contact")
def reporter_contact(number: str, request: Request, user: Staff, db: DB) -> Response:
    """The reporter's contact, revealed on request (command roles only; every read is logged)."""
    require(user, cases.CONTACT_ROLES)
    case = cases.get_case_for(db, user, number)
    contact = cases.reporter_contact(db, user, case, purpose="call back", ip=client_ip(request))
    if contact is None:
        raise NotFound("this case has no reporter contact")
    return render(request, "desk/_contact.html", {"contact": contact})


@router.post("/desk/cases/{number}/act/{name}")
async def case_action(number: str, name: str, request: Request, user: Staff, db: DB) -> Response:
    """Run one workflow action from the case page, then show the case again (PRG)."""
    require(user, service.STAFF_ROLES)
    spec = forms.FORMS.get(name)
    if spec is None:
        raise NotFound(f"no action {name}")
    db.rollback()  # no transaction (SQLite: no lock) while the upload is read
    form = await request.form()
    try:
        photos = await forms.read_photos(form) if spec.photos else []
    except CivgridError as exc:
        return await run_in_threadpool(_show_error, request, db, user, number, exc)
    return await run_in_threadpool(_act, request, db, user, number, name, form, photos)


def _show_error(
    request: Request, db: Session, user: User, number: str, exc: CivgridError
) -> Response:
    db.rollback()
    case = cases.get_case_for(db, user, number)
    return _case_page(request, db, user, case, error=exc, status_code=exc.status_code)


def _act(
    request: Request,
    db: Session,
    user: User,
    number: str,
    name: str,
    form: Any,
    photos: list[Any],
) -> Response:
    require(user, service.STAFF_ROLES)
    case = cases.get_case_for(db, user, number, forms.FORMS[name].permission)
    try:
        taken = forms.run(db, case, user, name, form, photos)
    except CivgridError as exc:
        return _show_error(request, db, user, number, exc)
    return RedirectResponse(f"/desk/cases/{number}?done={taken.value}", status_code=303)


@router.get("/desk/cases/{number}/photos/{attachment_id}/{rendition}")
def photo(number: str, attachment_id: int, rendition: Rendition, user: Staff, db: DB) -> Response:
    """A case photo for staff: thumbnail, EXIF-free copy or the original."""
    require(user, service.STAFF_ROLES)
    case = cases.get_case_for(db, user, number)
    att = db.get(CaseAttachment, attachment_id)
    if att is None or att.case_id != case.id:
        raise NotFound(f"photo {attachment_id} not found")
    path, content_type = rendition_file(att, rendition)
    if not path.exists():
        raise NotFound("the stored file is missing")
    return FileResponse(path, media_type=content_type)
