"""Case API (/api/v1/cases): reads, intake and attachments. Actions are in ``routes_actions``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from psycopg import AsyncConnection
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civgrid.auth.deps import client_ip, current_actor, current_user
from civgrid.auth.models import Role, User
from civgrid.cases import actions, idempotency, service
from civgrid.cases.attachments import Rendition, attach_photo, rendition_file
from civgrid.cases.duplicates import Duplicate, find_duplicates
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civgrid.cases.schemas import (
    AttachmentOut,
    CaseDetail,
    CaseOut,
    CaseReport,
    ClockOut,
    DuplicateOut,
    EventOut,
    ReportOut,
    SummonsOut,
)
from civgrid.cases.transitions import CaseState, allowed_actions
from civgrid.db import keyset
from civgrid.db.aio import async_pool
from civgrid.db.base import utcnow
from civgrid.db.session import get_db, on_loop_if_cached
from civgrid.errors import Invalid, NotFound
from civgrid.web.i18n import localized, request_locale
from civgrid.web.responses import AUTHENTICATED

api = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=AUTHENTICATED)
DB = Annotated[Session, Depends(get_db)]
Actor = Annotated[User, Depends(current_user)]
MAX_OFFSET = 10_000  # offset paging reads and skips every row before the page
# who reports: read only, not in the request's session (see current_actor)
Reporter = Annotated[User, Depends(current_actor)]


def _out(case: Case) -> dict[str, object]:
    return {
        **{k: getattr(case, k) for k in CaseOut.model_fields if hasattr(case, k)},
        "state_label": case.state.label_zh,
        "group": case.state.group,
    }


def summary(case: Case) -> CaseOut:
    """The list/summary shape of a case (no personal data)."""
    return CaseOut.model_validate(_out(case))


def _dup(d: Duplicate) -> DuplicateOut:
    return DuplicateOut(
        number=d.number, state=d.state, distance_m=round(d.distance_m, 1), reported_at=d.reported_at
    )


def duplicates_of(db: Session, case: Case, limit: int = 10) -> list[DuplicateOut]:
    found = find_duplicates(
        db,
        category_id=case.category_id,
        lon=case.lon,
        lat=case.lat,
        at=case.reported_at,
        exclude_id=case.id,
        limit=limit,
    )
    return [_dup(d) for d in found]


def detail(db: Session, case: Case, user: User, ip: str) -> CaseDetail:
    """The full case view: timeline, stage lights, summons, attachments, likely duplicates."""
    contact = service.reporter_contact(db, user, case, purpose="case view", ip=ip) or {}
    now = utcnow()
    merged_into = db.get(Case, case.merged_into_id) if case.merged_into_id else None
    suggested = service.routing_suggestion(db, case)
    attachments = db.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.id)
    )
    return CaseDetail.model_validate(
        {
            **_out(case),
            "reporter_name": contact.get("name"),
            "reporter_phone": contact.get("phone"),
            "reporter_email": contact.get("email"),
            "merged_into": merged_into.number if merged_into else None,
            "extension_pending": case.extension_amount,
            "allowed_actions": allowed_actions(case.state),
            "suggested_department": suggested.code if suggested else None,
            "events": [EventOut.model_validate(e) for e in service.events_of(db, case)],
            "clocks": [
                ClockOut(
                    stage=v.clock.stage,
                    amount=v.clock.amount,
                    unit=v.clock.unit,
                    started_at=v.clock.started_at,
                    due_at=v.clock.due_at,
                    finished_at=v.clock.finished_at,
                    used=round(v.used, 4),
                    light=v.light,
                )
                for v in service.lights(db, case, now)
            ],
            "summons": [
                SummonsOut.model_validate(s).model_copy(
                    update={"missing": s.acknowledged_at is None and s.due_at < now}
                )
                for s in service.summons_of(db, case)
            ],
            "attachments": [AttachmentOut.model_validate(a) for a in attachments],
            "likely_duplicates": duplicates_of(db, case) if case.state.is_open else [],
        }
    )


@api.get("", response_model=list[CaseOut])
def list_cases(
    request: Request,
    user: Actor,
    db: DB,
    state: CaseState | None = None,
    open_only: bool = False,
    category_id: int | None = None,
    department: Annotated[str | None, Query(max_length=32)] = None,
    territory: Annotated[str | None, Query(pattern=r"^\d{1,16}$")] = None,
    overdue: bool = False,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None,
        Query(
            max_length=keyset.MAX_CURSOR,
            description="where the page starts: the cursor of the previous page's Link header",
        ),
    ] = None,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description=f"deprecated (at most {MAX_OFFSET:,}): follow the cursor instead",
        ),
    ] = 0,
) -> Response:
    """Cases in the caller's jurisdiction, newest first (no personal data in lists).

    The body is the page's cases. The next page is in the ``Link`` header (``rel="next"``) and
    its cursor in ``Next-Cursor``: a keyset page reads only its own rows, and cases reported
    meanwhile neither repeat nor skip a case. ``offset`` still works, up to 10,000.
    """
    f = service.CaseFilter(state, open_only, category_id, department, territory, overdue, since)
    if offset:
        if cursor:
            raise Invalid("give either cursor or offset, not both")
        cases = service.list_cases(db, user, f, limit=limit, offset=offset)
        return _cases_json([summary(c) for c in cases])
    try:
        page = service.cases_page(db, user, f, limit=limit, cursor=cursor)
    except keyset.BadCursor as exc:
        raise localized(exc, request_locale(request)) from None
    headers = {}
    if page.next:
        url = request.url.remove_query_params("offset").include_query_params(cursor=page.next)
        headers = {"Link": f'<{url}>; rel="next"', "Next-Cursor": page.next}
    return _cases_json([summary(c) for c in page.rows], headers)


def _cases_json(cases: list[CaseOut], headers: dict[str, str] | None = None) -> Response:
    body = TypeAdapter(list[CaseOut]).dump_json(cases)
    return Response(body, media_type="application/json", headers=headers)


@api.post("", response_model=ReportOut, status_code=201)
async def report(
    request: Request,
    body: CaseReport,
    user: Reporter,
    db: DB,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="a key of the client's choosing: a retry with it gets the first answer",
        ),
    ] = None,
) -> Response:
    """Report (上报) a case; the answer lists likely duplicates for the dispatcher."""
    key = idempotency.check_key(idempotency_key)
    keyed = None if key is None else (f"api:{user.id}", key)
    pool = await async_pool(request, db)
    if pool is None:  # all in the request's session, in one thread-pool hop
        answer = await run_in_threadpool(_report, body, user, db, keyed)
    else:
        # The checks and the deadline on the event loop when the caches hold what they read,
        # the write too: one statement on an asynchronous connection. A major emergency's
        # notice goes in the same transaction as its case: in the session.
        planned = await on_loop_if_cached(_plan, body, user, db)
        if planned.major_emergency:
            answer = await run_in_threadpool(_write, db, planned, keyed)
        else:
            async with pool.connection() as conn:
                answer = await _write_async(conn, planned, keyed)
    return Response(answer, status_code=201, media_type="application/json")


def _answer(case: Case, likely_duplicates: list[Duplicate]) -> str:
    # the duplicates as plain values: validated with the rest in one call, not one model each
    dups = [
        {
            "number": d.number,
            "state": d.state,
            "distance_m": round(d.distance_m, 1),
            "reported_at": d.reported_at,
        }
        for d in likely_duplicates
    ]
    out = ReportOut.model_validate({**_out(case), "likely_duplicates": dups})
    return out.model_dump_json()


def _plan(body: CaseReport, user: User, db: Session) -> actions.NewCase:
    return actions.plan_report(
        db,
        source=body.source,
        category=body.category_id,
        lon=body.lon,
        lat=body.lat,
        description=body.description,
        address=body.address,
        priority=body.priority,
        contact=actions.Contact(body.reporter_phone, body.reporter_email),
        actor=user,
        duplicates=10,
    )


def _report(body: CaseReport, user: User, db: Session, keyed: tuple[str, str] | None) -> str:
    return _write(db, _plan(body, user, db), keyed)


def _write(db: Session, planned: actions.NewCase, keyed: tuple[str, str] | None) -> str:
    """The answer to a planned report written in the session (the first one, for a key seen)."""
    if keyed is None:
        done = actions.write_report(db, planned)
        return _answer(done.case, done.likely_duplicates)
    first = idempotency.claim(db, *keyed)
    if first is not None:
        db.rollback()
        return first
    answers: list[str] = []

    def remember(case: Case, found: list[Duplicate]) -> None:
        answers.append(_answer(case, found))
        idempotency.remember(db, *keyed, case.id, answers[0])

    actions.write_report(db, planned, extras=remember)
    return answers[0]


async def _write_async(
    conn: AsyncConnection[Any], planned: actions.NewCase, keyed: tuple[str, str] | None
) -> str:
    """``_write`` on an autocommit PostgreSQL connection: one statement, or with a key, the
    claim, that statement and the answer in one transaction."""
    if keyed is None:
        done = await actions.write_report_async(conn, planned)
        return _answer(done.case, done.likely_duplicates)
    async with conn.transaction():
        first = await idempotency.claim_async(conn, *keyed)
        if first is not None:
            return first
        done = await actions.write_report_async(conn, planned)
        answer = _answer(done.case, done.likely_duplicates)
        await idempotency.remember_async(conn, *keyed, done.case.id, answer)
    return answer


@api.get("/duplicates", response_model=list[DuplicateOut])
def likely_duplicates(
    user: Actor,
    db: DB,
    category_id: int,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius_m: Annotated[float | None, Query(gt=0, le=5000)] = None,
    window_h: Annotated[float | None, Query(gt=0, le=24 * 90)] = None,
) -> list[DuplicateOut]:
    """Cases of the same category near a point within the time window (likely duplicates)."""
    found = find_duplicates(
        db, category_id=category_id, lon=lon, lat=lat, radius_m=radius_m, window_h=window_h
    )
    visible = set(
        db.scalars(service.scoped(select(Case.id), user).where(Case.id.in_([d.id for d in found])))
    )
    return [_dup(d) for d in found if d.id in visible]


@api.get("/{number}", response_model=CaseDetail)
def get_case(number: str, request: Request, user: Actor, db: DB) -> CaseDetail:
    """One case with its timeline, stage lights, summons and attachments."""
    case = service.get_case_for(db, user, number)
    return detail(db, case, user, client_ip(request))


@api.post("/{number}/attachments", response_model=AttachmentOut, status_code=201)
async def upload_attachment(
    number: str,
    user: Actor,
    db: DB,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP photo")],
    kind: Annotated[AttachmentKind, Form()] = AttachmentKind.BEFORE,
) -> CaseAttachment:
    """Attach a before/after photo (checked by decoding it; EXIF stripped from public copies)."""
    case = service.get_case_for(db, user, number, "attach")
    from civgrid.config import get_settings

    data = await file.read(get_settings().attachment_max_bytes + 1)
    return attach_photo(db, case, actor=user, data=data, kind=kind, filename=file.filename or "")


@api.get("/{number}/attachments/{attachment_id}")
def download_attachment(
    number: str,
    attachment_id: int,
    user: Actor,
    db: DB,
    rendition: Rendition = Rendition.PUBLIC,
) -> FileResponse:
    """A photo: ``original`` for staff (may carry EXIF), ``public`` or ``thumb`` without EXIF."""
    case = service.get_case_for(db, user, number)
    att = db.get(CaseAttachment, attachment_id)
    if att is None or att.case_id != case.id:
        raise NotFound(f"attachment {attachment_id} not found")
    if rendition == Rendition.ORIGINAL and user.role == Role.RESIDENT:
        rendition = Rendition.PUBLIC
    path, content_type = rendition_file(att, rendition)
    if not path.exists():
        raise NotFound("the stored file is missing")
    return FileResponse(path, media_type=content_type)
