"""Inspection HTTP: the record API the field app posts to, and the field pages (due list, form)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.cases.attachments import Rendition, check_image, rendition_file
from civgrid.cases.models import Case
from civgrid.config import get_settings
from civgrid.db.session import get_db, get_page_db
from civgrid.errors import CivgridError, Invalid, NotFound
from civgrid.inspections import actions, service
from civgrid.inspections.models import (
    ChecklistItem,
    ChecklistTemplate,
    InspectionPhoto,
    InspectionPlan,
    InspectionRecord,
)
from civgrid.inspections.schemas import MAX_ID, ItemEdit, RecordIn, RecordOut
from civgrid.ledger import actions as ledger_actions
from civgrid.ledger.models import MODELS, LedgerKind
from civgrid.ledger.schemas import COLUMNS
from civgrid.text import is_digits
from civgrid.web.i18n import N_, localized, request_locale
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1/inspections", tags=["inspections"], responses=AUTHENTICATED)
pages = APIRouter(include_in_schema=False)

DB = Annotated[Session, Depends(get_db)]
PageDB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]


def _template(db: Session, user: User, template_id: int) -> ChecklistTemplate:
    return scope.get_for(db, user, ChecklistTemplate, template_id, "view")


def _submit(
    db: Session,
    user: User,
    body: RecordIn,
    photos: Sequence[tuple[int, bytes, str]] = (),
) -> RecordOut:
    checked = [actions.ItemPhoto(i, check_image(data), name) for i, data, name in photos]
    template = _template(db, user, body.template_id)
    plan = db.get(InspectionPlan, body.plan_id) if body.plan_id else None
    record = actions.submit_inspection(
        db,
        template=template,
        kind=body.kind,
        target_id=body.target_id,
        answers=[actions.ItemAnswer(r.item_id, r.result, r.note) for r in body.results],
        actor=user,
        client_key=body.client_key,
        inspected_at=body.inspected_at,
        lon=body.lon,
        lat=body.lat,
        note=body.note,
        plan=plan,
        photos=checked,
    )
    case_ids = [r.case_id for r in record.results if r.case_id]
    numbers = db.scalars(select(Case.number).where(Case.id.in_(case_ids))).all() if case_ids else []
    return RecordOut(
        id=record.id,
        failed=record.failed,
        cases=list(numbers),
        inspected_at=record.inspected_at,
        photos=len(record.photos),
    )


@api.post("/records", status_code=201, response_model=RecordOut)
def submit(request: Request, db: DB, user: Staff, body: RecordIn) -> RecordOut:
    """Record an inspection; each failed item opens a case. Sending the same draft again
    returns the record already stored."""
    try:
        return _submit(db, user, body)
    except CivgridError as exc:
        raise localized(exc, request_locale(request)) from None


@api.post("/records/with-photos", status_code=201, response_model=RecordOut)
async def submit_with_photos(request: Request, db: DB, user: Staff) -> RecordOut:
    """The same as multipart/form-data, with photos: ``record`` is the record's JSON, each photo
    a file field ``photo-<item id>`` (JPEG, PNG or WebP; at most 3 an item, 10 a record). A
    failed item's photos become its case's attachments. Nothing is stored unless all is good."""
    locale = request_locale(request)
    try:
        form = await request.form(max_files=actions.MAX_PHOTOS, max_fields=4)
        raw = form.get("record")
        try:
            body = RecordIn.model_validate_json(raw if isinstance(raw, str) else "")
        except ValidationError as exc:
            raise Invalid(N_("the inspection record is not valid"), errors=str(exc)[:500]) from None
        limit = get_settings().attachment_max_bytes
        photos: list[tuple[int, bytes, str]] = []
        for key, value in form.multi_items():
            if key == "record":
                continue
            item = key.removeprefix("photo-")
            if isinstance(value, str) or not is_digits(item) or len(item) > 10:
                raise Invalid(N_("a photo is for an item that is not on this checklist"))
            photos.append((int(item), await value.read(limit + 1), value.filename or ""))
        return await run_in_threadpool(_submit, db, user, body, photos)
    except CivgridError as exc:
        raise localized(exc, locale) from None


@api.get("/photos/{photo_id:int}")
def photo(
    db: DB,
    user: Staff,
    photo_id: Annotated[int, Path(le=MAX_ID)],
    rendition: Rendition = Rendition.PUBLIC,
) -> FileResponse:
    """An inspection photo: ``thumb``, ``public`` (both without EXIF) or the ``original``."""
    found = db.get(InspectionPhoto, photo_id)
    if found is None:
        raise NotFound(f"photo {photo_id} not found")
    scope.get_for(db, user, InspectionRecord, found.record_id, "view")
    path, content_type = rendition_file(found, rendition)
    if not path.exists():
        raise NotFound("the stored file is missing")
    return FileResponse(path, media_type=content_type)


@api.get("/templates")
def templates(db: DB, user: Staff) -> list[dict[str, Any]]:
    """The checklist templates with their items (pass rule, category, time limit)."""
    rows = db.scalars(
        scope.restrict(select(ChecklistTemplate), user, "view").order_by(ChecklistTemplate.code)
    )
    return [
        {
            "id": t.id,
            "code": t.code,
            "name_zh": t.name_zh,
            "name_en": t.name_en,
            "target_kind": t.target_kind.value,
            "version": t.version,
            "items": [
                {
                    "id": i.id,
                    "text_zh": i.text_zh,
                    "text_en": i.text_en,
                    "pass_rule_zh": i.pass_rule_zh,
                    "category_code": i.category_code,
                    "limit": f"{i.limit_amount:g} {i.limit_unit.value}",
                    "is_active": i.is_active,
                }
                for i in t.items
            ],
        }
        for t in rows
    ]


@api.patch("/items/{item_id:int}")
def edit_item(
    db: DB, user: Staff, item_id: Annotated[int, Path(le=MAX_ID)], body: ItemEdit
) -> dict[str, Any]:
    """An admin edits a checklist item (refused if the template changed since it was read)."""
    scope.check_role(user, ChecklistTemplate, "change")
    item = db.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound(f"checklist item {item_id} not found")
    fields = body.model_dump(exclude_none=True, exclude={"version"})
    actions.edit_item(db, item, actor=user, version=body.version, **fields)
    return {"id": item.id, "version": db.get(ChecklistTemplate, item.template_id).version}  # type: ignore[union-attr]


@api.get("/due")
def due(
    db: DB, user: Staff, territory: Annotated[str, Query(pattern=r"^\d{0,15}$")] = ""
) -> list[dict[str, Any]]:
    """What is due within a week or overdue in the caller's grids (follow-ups first)."""
    scope.check_role(user, InspectionRecord, "change")
    today = datetime.now(get_settings().tz).date()
    return [
        {
            "kind": d.kind.value,
            "target_id": d.target.id,
            "code": d.target.code,
            "template_id": d.template_id,
            "due_on": d.due_on.isoformat(),
            "overdue": d.overdue,
            "follow_up_case": d.follow_up_case,
        }
        for d in service.due_inspections(db, user, today=today, territory=territory)
    ]


@api.get("/counts")
def counts(
    db: DB,
    user: Staff,
    territory: Annotated[str, Query(pattern=r"^\d{0,15}$")] = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Inspections done, failed, failure rate and cases opened, per grid of the caller's."""
    scope.check_role(user, InspectionRecord, "view")
    j = scope.Jurisdiction.of(user)
    per_grid = service.counts_by_grid(db, territory=territory, since=since, until=until)
    return {
        code: {
            "records": c.records,
            "failed_records": c.failed_records,
            "failure_rate": c.failure_rate,
            "failed_items": c.failed_items,
            "cases_opened": c.cases_opened,
        }
        for code, c in per_grid.items()
        if j.covers_code(code)
    }


# --- field pages ---------------------------------------------------------------------------


@pages.get("/field/inspections")
def due_page(request: Request, db: PageDB, user: Staff) -> Response:
    """The worker's inspections: follow-ups, overdue, due this week."""
    scope.check_role(user, InspectionRecord, "change")
    today = datetime.now(get_settings().tz).date()
    rows = service.due_inspections(db, user, today=today)
    templates = {t.id: t for t in db.scalars(select(ChecklistTemplate))}
    ctx = {"nav": "inspections", "rows": rows, "templates": templates, "today": today}
    return render(request, "inspections/due.html", ctx)


@pages.get("/field/inspections/form")
def form_page(
    request: Request,
    db: PageDB,
    user: Staff,
    template: Annotated[int, Query(ge=1, le=MAX_ID)],
    kind: LedgerKind,
    target: Annotated[int, Query(ge=1, le=MAX_ID)],
    plan: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The checklist form; the browser keeps a draft and sends it once it is online."""
    scope.check_role(user, InspectionRecord, "change")
    checklist = _template(db, user, template)
    place = scope.get_for(db, user, MODELS[kind], target, "view")
    if checklist.target_kind != kind:
        raise NotFound("no such checklist for this place")
    ctx = {"nav": "inspections", "template": checklist, "kind": kind, "place": place, "plan": plan}
    return render(request, "inspections/form.html", ctx)


@pages.get("/inspections/records/{record_id:int}")
def record_page(
    request: Request, db: PageDB, user: Staff, record_id: Annotated[int, Path(le=MAX_ID)]
) -> Response:
    """One inspection: the place, each item's result and note, its photos and cases."""
    found = scope.get_for(db, user, InspectionRecord, record_id, "view")
    ctx = {"nav": "inspections", **service.record_view(db, found)}
    return render(request, "inspections/record.html", ctx)


@pages.get("/field/ledger/new")
def new_record_page(request: Request, user: Staff, kind: LedgerKind = LedgerKind.UNITS) -> Response:
    """Add a place to the ledger on the spot (position from the phone)."""
    scope.check_role(user, MODELS[kind], "change")
    ctx: dict[str, Any] = {
        "nav": "inspections",
        "kind": kind,
        "kinds": list(LedgerKind),
        "columns": COLUMNS[kind],
        "form": {},
        "error": None,
    }
    return render(request, "inspections/new_record.html", ctx)


@pages.post("/field/ledger/new")
async def new_record_submit(
    request: Request, db: PageDB, user: Staff, kind: LedgerKind = LedgerKind.UNITS
) -> Response:
    form = {
        k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"
    }
    return await run_in_threadpool(_add, request, db, user, kind, form)


def _add(
    request: Request, db: Session, user: User, kind: LedgerKind, form: dict[str, str]
) -> Response:
    try:
        row = ledger_actions.add_record(db, kind, form, actor=user)
    except CivgridError as exc:
        db.rollback()
        ctx = {
            "nav": "inspections",
            "kind": kind,
            "kinds": list(LedgerKind),
            "columns": COLUMNS[kind],
            "form": form,
            "error": exc,
        }
        return render(request, "inspections/new_record.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/ledger/{kind.value}/{row.id}", status_code=303)
