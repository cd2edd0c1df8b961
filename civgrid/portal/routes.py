"""Resident portal pages (mobile-first, no account): report, follow, add information, rate.

The browser keeps its receipts (case number → tracking code) in a signed cookie, so a resident
sees "my reports" without an account; the code also works on another device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.deps import client_ip, verify_csrf
from civgrid.cases import pending
from civgrid.cases.actions import Contact
from civgrid.cases.attachments import CheckedImage, Rendition, rendition_file
from civgrid.cases.models import Case
from civgrid.cases.public import (
    HIDDEN_STATES,
    get_public_case,
    is_public,
    public_attachment,
    public_views,
)
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category
from civgrid.catalogue.service import search_categories
from civgrid.config import get_settings
from civgrid.db.session import get_page_db
from civgrid.desk.forms import PENDING, drop_photos, keep_photos, read_photos, report_photos, text
from civgrid.errors import CivgridError, Invalid, NotFound
from civgrid.grids.models import Grid
from civgrid.grids.service import grid_name
from civgrid.portal import actions, service
from civgrid.web.templating import render

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(get_page_db, scope="function")]
CSRF = [Depends(verify_csrf)]
NEW_RECEIPT = "portal_new"  # session: the number whose code is shown once after submission
KEEP = 20  # receipts and followed cases a device remembers
HONEYPOT = "website"  # a field people never see; bots fill it in
# The device's reports live in their own signed cookie for a year: the session cookie ends after
# a working day (staff logins), but a resident comes back weeks later to rate.
DEVICE_COOKIE = "civgrid_reports"
DEVICE_MAX_AGE = 365 * 86400


@dataclass
class Device:
    """What this browser remembers: its receipts (number → code) and the cases it follows."""

    receipts: dict[str, str] = field(default_factory=dict)
    followed: list[str] = field(default_factory=list)

    def remember(self, number: str, key: str) -> None:
        self.receipts.pop(number, None)
        self.receipts[number] = key
        self.receipts = dict(list(self.receipts.items())[-KEEP:])

    def follow(self, number: str) -> None:
        self.followed = [n for n in self.followed if n != number][-KEEP + 1 :] + [number]


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt="civgrid.portal.device")


def device(request: Request) -> Device:
    raw = request.cookies.get(DEVICE_COOKIE)
    try:
        data = _signer().loads(raw) if raw else {}
        return Device(dict(data.get("r", {})), list(data.get("f", [])))
    except (BadSignature, AttributeError, TypeError, ValueError):
        return Device()  # a cookie we did not sign (or an old format) is ignored


def _keep(response: Response, dev: Device) -> Response:
    response.set_cookie(
        DEVICE_COOKIE,
        _signer().dumps({"r": dev.receipts, "f": dev.followed}),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=get_settings().env == "production",
    )
    return response


def _contact(form: Any) -> Contact:
    return Contact(phone=text(form, "phone") or None, email=text(form, "email") or None)


def _coordinates(form: Any) -> tuple[float, float]:
    try:
        return float(text(form, "lon")), float(text(form, "lat"))
    except ValueError:
        raise Invalid(
            "set the position (use my location, or pin it on the map)", field="lon"
        ) from None


async def _read_form(request: Request, db: Session) -> tuple[Any, list[CheckedImage]]:
    """The posted form and its checked photos; refused at once if the honeypot is filled."""
    db.rollback()  # no transaction (SQLite: no lock) while the upload is read
    form = await request.form()
    if text(form, HONEYPOT):
        raise Invalid("the form could not be accepted; please reload the page and try again")
    photos = [img for img, _name in await read_photos(form)]
    return form, photos


def _again(request: Request, template: str, form: Any, exc: CivgridError, **ctx: Any) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf_token",)}
    response = render(request, template, {"form": values, "error": exc, **ctx}, exc.status_code)
    if hasattr(exc, "retry_after"):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --- home, report, complain -------------------------------------------------------------------


@router.get("/portal")
def home(request: Request, db: DB) -> Response:
    """The resident's start page: report, complain, follow, and this browser's reports."""
    dev = device(request)
    mine = dev.receipts
    followed = [n for n in reversed(dev.followed) if n not in mine]
    views = service.views_by_number(db, list(reversed(list(mine))), followed)
    return render(request, "portal/home.html", {"nav": "portal", "views": views, "mine": mine})


@router.get("/portal/report")
def report_form(request: Request) -> Response:
    return render(request, "portal/report.html", {"nav": "portal", "form": {}})


@router.get("/portal/categories")
def category_picker(
    request: Request, db: DB, q: Annotated[str, Query(max_length=50)] = ""
) -> Response:
    """HTMX fragment: published categories matching Chinese, English, pinyin or keywords."""
    found = search_categories(db, q.strip(), published_only=True, limit=15) if q.strip() else []
    found = [c for c in found if not c.is_staff_complaint][:10]
    return render(request, "desk/_categories.html", {"categories": found, "q": q})


@router.get("/portal/nearby")
def nearby(
    request: Request,
    db: DB,
    category_id: Annotated[int, Query(ge=1)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> Response:
    """HTMX fragment: open reports of the same category nearby, to join instead of repeating."""
    found = service.nearby_open(db, category_id, lon, lat)
    return render(request, "portal/_nearby.html", {"nearby": found})


@router.post("/portal/report", dependencies=CSRF)
async def report_submit(request: Request, db: DB) -> Response:
    """Take the resident's report; the receipt (number and code) is shown on the case page.

    A refused form comes back with what was entered: the category, the position, the text and
    the photos (kept server-side for a while, see ``civgrid.cases.pending``).
    """
    db.rollback()  # no transaction (SQLite: no lock) while the upload is read
    form = await request.form()
    if text(form, HONEYPOT):
        exc = Invalid("the form could not be accepted; please reload the page and try again")
        return _again(request, "portal/report.html", form, exc, nav="portal")
    photos, bad_photo = await report_photos(request.session, form)

    def submit() -> actions.Receipt:
        if bad_photo is not None:
            raise bad_photo
        try:
            category_id = int(text(form, "category_id"))
        except ValueError:
            raise Invalid("choose a category from the list", field="category_id") from None
        lon, lat = _coordinates(form)
        return actions.submit_report(
            db,
            category_id=category_id,
            lon=lon,
            lat=lat,
            description=text(form, "description"),
            contact=_contact(form),
            images=[img for img, _name in photos],
            address=text(form, "address"),
            ip=client_ip(request),
        )

    try:
        receipt = await _in_thread(db, submit)
    except CivgridError as exc:
        kept = await run_in_threadpool(keep_photos, request.session, photos)
        chosen = await run_in_threadpool(_chosen_category, db, form)
        return _again(request, "portal/report.html", form, exc, nav="portal", chosen=chosen, **kept)
    drop_photos(request.session)
    return _received(request, receipt)


def _chosen_category(db: Session, form: Any) -> Category | None:
    """The category a refused form had chosen, shown chosen again (if it may be reported)."""
    try:
        return service.reportable_category(db, int(text(form, "category_id")))
    except (ValueError, Invalid):
        return None


@router.get("/portal/pending/{token}/{number}")
def pending_photo(request: Request, token: str, number: int) -> Response:
    """A thumbnail of a photo kept from this browser's refused report form."""
    path = pending.thumbnail(token, number) if token == request.session.get(PENDING) else None
    if path is None or not path.exists():
        raise NotFound("this photo is no longer kept; please choose it again")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/portal/complain")
def complain_form(request: Request, db: DB, grid: str = "") -> Response:
    ctx = {"form": {"grid": grid}, **_complain_ctx(db)}
    return render(request, "portal/complain.html", ctx)


def _complain_ctx(db: Session) -> dict[str, Any]:
    grids = db.scalars(select(Grid).where(Grid.valid_to.is_(None)).order_by(Grid.code)).all()
    return {"nav": "portal", "grids": grids}


@router.post("/portal/complain", dependencies=CSRF)
async def complain_submit(request: Request, db: DB) -> Response:
    """A complaint about grid staff: to the grid office; the reporter is never shown to them."""
    try:
        form, _photos = await _read_form(request, db)
        receipt = await _in_thread(
            db,
            lambda: actions.submit_complaint(
                db,
                grid_code=text(form, "grid"),
                description=text(form, "description"),
                contact=_contact(form),
                ip=client_ip(request),
            ),
        )
    except CivgridError as exc:
        ctx = await run_in_threadpool(_complain_ctx, db)
        return _again(request, "portal/complain.html", await request.form(), exc, **ctx)
    return _received(request, receipt)


async def _in_thread(db: Session, work: Callable[[], Any]) -> Any:
    def run() -> Any:
        try:
            return work()
        except BaseException:
            db.rollback()
            raise

    return await run_in_threadpool(run)


def _received(request: Request, receipt: actions.Receipt) -> Response:
    dev = device(request)
    dev.remember(receipt.number, receipt.key)
    request.session[NEW_RECEIPT] = receipt.number
    return _keep(RedirectResponse(f"/portal/cases/{receipt.number}", status_code=303), dev)


# --- following a case -------------------------------------------------------------------------


def _case_for(request: Request, db: Session, number: str) -> tuple[Case, str]:
    """The case and this browser's code for it ('' if none): a public case, or one of its own."""
    key = device(request).receipts.get(number, "")
    case = db.scalar(select(Case).where(Case.number == number))
    if case is not None and key and service.receipt_matches(db, case, key):
        return case, key
    return get_public_case(db, number), ""


@router.get("/portal/cases/{number}")
def case_page(request: Request, number: str, db: DB) -> Response:
    """A case as the public sees it; its reporter also adds information and rates it here."""
    case, key = _case_for(request, db, number)
    return _case_page(request, db, case, key)


def _case_page(
    request: Request,
    db: Session,
    case: Case,
    key: str,
    error: CivgridError | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    new = request.session.pop(NEW_RECEIPT, None) == case.number
    ctx = {
        "nav": "track",
        "view": public_views(db, [case])[0],
        "grid_name": grid_name(db, case.grid_code),
        "address": case.address if key else "",
        "steps": service.public_timeline(db, case),
        "is_reporter": bool(key),
        "key": key if new else "",
        "new": new,
        "can_add": bool(key) and case.state.is_open,
        "can_rate": bool(key) and case.state == CaseState.CLOSED,
        "can_join": not key and case.state.is_open,
        "is_public": service.is_public(db, case),
        # Why the reporter's own report is not public by its state ("" when its kind is why).
        "unpublished": case.state.value if case.state in HIDDEN_STATES else "",
        "followed": case.number in device(request).followed,
        "error": error,
        "form": form or {},
    }
    return render(request, "portal/case.html", ctx, error.status_code if error else 200)


@router.post("/portal/cases/{number}/add", dependencies=CSRF)
async def add_information(request: Request, number: str, db: DB) -> Response:
    """The reporter adds information or photos to an open report."""
    return await _reporter_act(
        request,
        db,
        number,
        lambda case, key, form, photos: actions.add_information(
            db, case, key=key, note=text(form, "note"), images=photos
        ),
    )


@router.post("/portal/cases/{number}/rate", dependencies=CSRF)
async def rate(request: Request, number: str, db: DB) -> Response:
    """The reporter rates the closed case (1–5) with an optional comment."""

    def run(case: Case, key: str, form: Any, _photos: list[CheckedImage]) -> Any:
        try:
            rating = int(text(form, "rating"))
        except ValueError:
            raise Invalid("choose a rating from 1 to 5", field="rating") from None
        return actions.rate_report(db, case, key=key, rating=rating, comment=text(form, "comment"))

    return await _reporter_act(request, db, number, run)


async def _reporter_act(
    request: Request,
    db: Session,
    number: str,
    work: Callable[[Case, str, Any, list[CheckedImage]], Any],
) -> Response:
    key = device(request).receipts.get(number, "")
    try:
        form, photos = await _read_form(request, db)
    except CivgridError as exc:
        case, key = await run_in_threadpool(_case_for, request, db, number)
        return _case_page(request, db, case, key, exc)

    def act() -> None:
        case = service.case_for_receipt(db, number, key)
        work(case, key, form, photos)

    try:
        await _in_thread(db, act)
    except NotFound:
        raise
    except CivgridError as exc:
        case, key = await run_in_threadpool(_case_for, request, db, number)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        return _case_page(request, db, case, key, exc, values)
    return RedirectResponse(f"/portal/cases/{number}?done=1", status_code=303)


@router.post("/portal/cases/{number}/join", dependencies=CSRF)
async def join(request: Request, number: str, db: DB) -> Response:
    """ "Me too": another resident has the same problem; this browser follows the case."""
    form, _photos = await _read_form(request, db)
    note = text(form, "note") or text(form, "description")
    await _in_thread(db, lambda: actions.join_report(db, number, note=note))
    dev = device(request)
    dev.follow(number)
    return _keep(RedirectResponse(f"/portal/cases/{number}?joined=1", status_code=303), dev)


@router.get("/portal/track")
def track_form(request: Request) -> Response:
    return render(request, "portal/track.html", {"nav": "track", "form": {}})


@router.post("/portal/track", dependencies=CSRF)
async def track(request: Request, db: DB) -> Response:
    """Open a report by number (public cases) or number and tracking code (one's own)."""
    form = await request.form()
    number, key = text(form, "number").upper(), text(form, "code")
    dev = device(request)
    try:
        if key:
            await run_in_threadpool(service.case_for_receipt, db, number, key)
            dev.remember(number, service.normalise_key(key))
        else:
            await run_in_threadpool(get_public_case, db, number)
            dev.follow(number)
    except CivgridError as exc:
        return _again(request, "portal/track.html", form, exc, nav="track")
    return _keep(RedirectResponse(f"/portal/cases/{number}", status_code=303), dev)


# --- photos -----------------------------------------------------------------------------------


def _photo(request: Request, db: Session, attachment_id: int, rendition: Rendition) -> Response:
    receipts = device(request).receipts
    att = public_attachment(db, attachment_id, own=lambda c: service.is_own(db, c, receipts))
    path, content_type = rendition_file(att, rendition)
    if not path.exists():
        raise NotFound(f"photo {attachment_id} not found")
    # A photo only its reporter may see must not sit in a shared cache.
    scope = "public" if is_public(db, att.case_id) else "private"
    cache = {"Cache-Control": f"{scope}, max-age=86400"}
    return FileResponse(path, media_type=content_type, headers=cache)


@router.get("/portal/photos/{attachment_id}")
def photo(request: Request, attachment_id: int, db: DB) -> Response:
    """A public case's (or this browser's own report's) photo: the EXIF-free copy only."""
    return _photo(request, db, attachment_id, Rendition.PUBLIC)


@router.get("/portal/photos/{attachment_id}/thumb")
def photo_thumb(request: Request, attachment_id: int, db: DB) -> Response:
    """A public case's (or this browser's own report's) photo as an EXIF-free thumbnail."""
    return _photo(request, db, attachment_id, Rendition.THUMB)
