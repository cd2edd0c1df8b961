"""GeoReport v2 over HTTP at /open311/v2/ (JSON or XML by suffix), and the admin client API."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from civgrid.auth import scope
from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import User
from civgrid.cases import idempotency
from civgrid.cases.attachments import Rendition, rendition_file
from civgrid.db.aio import async_pool
from civgrid.db.base import utcnow
from civgrid.db.session import get_db, get_read_db, on_loop_if_cached
from civgrid.errors import CivgridError, Invalid, NotFound
from civgrid.open311 import actions, service
from civgrid.open311.formats import FORMATS, error_response, format_of_path, respond
from civgrid.open311.models import ApiClient
from civgrid.open311.schemas import (
    ClientIn,
    ClientIssued,
    ClientOut,
    RequestQuery,
    submission_from_form,
)
from civgrid.web.responses import AUTHENTICATED, georeport_errors

# Where the spec's status differs from ours: a bad argument is 400, a bad key 403.
SPEC_STATUS = {401: 403, 422: 400}


class GeoReportRoute(APIRoute):
    """Answers every error on /open311 in the spec's error list, in the format asked for.

    The app's generic handlers (JSON ``detail``) never see these requests.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            fmt = format_of_path(request.url.path)
            try:
                return await handler(request)
            except CivgridError as exc:
                status = SPEC_STATUS.get(exc.status_code, exc.status_code)
                return error_response(fmt, status, exc.message)
            except RequestValidationError as exc:
                wrong = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
                return error_response(fmt, 400, wrong)

        return handle


URLENCODED = "application/x-www-form-urlencoded"
MAX_FIELDS = 1000  # as Starlette's own form parser
router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    route_class=GeoReportRoute,
    responses=georeport_errors(403, 404, 409, 429),
)
DB = Annotated[Session, Depends(get_db)]
# The public reads that may lag a little (services, requests): the read replica when there is
# one. Token lookups stay on the primary: a client asks for its token's case right after POST.
ReadDB = Annotated[Session, Depends(get_read_db)]


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"format {fmt} is not supported; use .json or .xml")
    return fmt


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request) -> Response:
    """Service discovery: where the GeoReport v2 endpoint is and which formats it speaks."""
    base = str(request.url_for("services", fmt="json")).rsplit("/", 1)[0]
    return respond(
        _format(fmt),
        "discovery",
        {
            "changeset": utcnow().strftime("%Y-%m-%dT00:00:00Z"),
            "contact": "The administrator of this civgrid deployment",
            "key_service": "API keys are issued by this deployment's administrator",
            "endpoints": [
                {
                    "specification": service.SPECIFICATION,
                    "url": base,
                    "changeset": utcnow().strftime("%Y-%m-%dT00:00:00Z"),
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        },
    )


@router.get("/services.{fmt}", name="services")
def services(fmt: str, db: ReadDB, jurisdiction_id: str = "") -> Response:
    """Every service (category) that may be reported."""
    with_attributes = service.codes_with_attributes(db)
    docs = [
        service.service_doc(c, metadata=c.code in with_attributes)
        for c in service.list_services(db)
    ]
    return respond(_format(fmt), "services", docs)


@router.get("/services/{service_code}.{fmt}")
def service_definition(
    service_code: str, fmt: str, db: ReadDB, jurisdiction_id: str = ""
) -> Response:
    """A service's definition: the attributes a request for it must or may answer."""
    fmt = _format(fmt)
    category = service.get_service(db, service_code)
    doc = service.definition_doc(category, service.attributes_of(db, category.code))
    return respond(fmt, "service_definition", doc)


@router.post("/requests.{fmt}")
async def create_request(fmt: str, request: Request, db: DB) -> Response:
    """Report a case (form-encoded, or multipart with a ``media`` photo); needs an api_key."""
    fmt = _format(fmt)
    pool = await async_pool(request, db)
    form = await _form(request)
    submission = submission_from_form(form)
    sent = request.headers.get(idempotency.HEADER) or form.get(idempotency.FIELD)
    key = idempotency.check_key(sent if isinstance(sent, str) else None)
    media = await actions.read_media(submission)
    if pool is None or media is not None or key is not None:
        # One hop to the thread pool: the key, the checks and the one transaction that writes.
        done = await run_in_threadpool(
            actions.submit_request, db, submission, media=media, idempotency_key=key
        )
    else:
        # As the API's intake: checked and planned on the event loop when the caches hold
        # what that reads; the case and its token written by one statement on the pool.
        prepared = await on_loop_if_cached(actions.prepare_request, db, submission, None)
        if prepared.one_statement:
            async with pool.connection() as conn:
                done = await actions.write_request_async(conn, prepared)
        else:
            done = await run_in_threadpool(actions.write_request, db, prepared)
    # Realtime, so the id is there at once; the token is given too, for GET tokens.
    doc = [
        {
            "service_request_id": done.number,
            "token": done.token,
            "service_notice": None,
            "account_id": None,
        }
    ]
    return respond(fmt, "service_requests", doc)


async def _form(request: Request) -> FormData:
    """The POSTed form. A form-encoded body must be percent-encoded, but many clients (curl -d,
    hotline systems) send raw UTF-8; Starlette would read those bytes as Latin-1 and store
    mojibake, so such a body is decoded as UTF-8 here, and refused if it is not UTF-8."""
    if not request.headers.get("content-type", "").startswith(URLENCODED):
        return await request.form()
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the form body is not UTF-8: percent-encode UTF-8 text") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise Invalid(f"the form has more than {MAX_FIELDS} fields") from None
    fields: list[tuple[str, str | UploadFile]] = list(pairs)
    return FormData(fields)


@router.get("/tokens/{token}.{fmt}")
def token_lookup(token: str, fmt: str, db: DB, jurisdiction_id: str = "") -> Response:
    """The service_request_id a token stands for."""
    fmt = _format(fmt)
    case = service.case_for_token(db, token)
    return respond(fmt, "service_requests", [{"service_request_id": case.number, "token": token}])


def _media_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + router.prefix + "/media"


@router.get("/requests.{fmt}")
def list_requests(
    fmt: str,
    request: Request,
    db: ReadDB,
    service_request_id: str = "",
    service_code: str = "",
    start_date: str = "",
    end_date: str = "",
    status: str = "",
    jurisdiction_id: str = "",
    page: str = "",
    page_size: str = "",
) -> Response:
    """Requests, newest first: by ids, or by service, status and dates (last 90 days by default)."""
    fmt = _format(fmt)
    query = RequestQuery.parse(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
        page=page,
        page_size=page_size,
        now=utcnow(),
    )
    cases = service.find_requests(db, query)
    return respond(fmt, "service_requests", service.request_docs(db, cases, _media_base(request)))


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(
    service_request_id: str, fmt: str, request: Request, db: ReadDB, jurisdiction_id: str = ""
) -> Response:
    """One request by its id (the case number)."""
    fmt = _format(fmt)
    case = service.get_request(db, service_request_id)
    return respond(fmt, "service_requests", service.request_docs(db, [case], _media_base(request)))


@router.get("/media/{attachment_id}")
def media(attachment_id: int, db: DB) -> Response:
    """A request's photo: the EXIF-free public copy only, never the original upload."""
    att = service.public_photo(db, attachment_id)
    path, content_type = rendition_file(att, Rendition.PUBLIC)
    if not path.exists():
        raise NotFound(f"media {attachment_id} not found")
    return FileResponse(path, media_type=content_type)


# --- admin: API clients ----------------------------------------------------------------------

admin = APIRouter(prefix="/api/v1/open311", tags=["open311"], responses=AUTHENTICATED)
Staff = Annotated[User, Depends(current_user)]


@admin.get("/clients", response_model=list[ClientOut])
def list_clients(db: DB, user: Staff) -> Any:
    """The Open311 clients and whether their keys are revoked (admin)."""
    scope.check_role(user, ApiClient, "view")
    return service.list_clients(db)


@admin.post("/clients", response_model=ClientIssued, status_code=201)
def issue_client(body: ClientIn, request: Request, db: DB, user: Staff) -> Any:
    """Issue an API key to an outside system (admin); the key is in this answer only."""
    client, key = actions.issue_client(db, name=body.name, actor=user, ip=client_ip(request))
    return {**ClientOut.model_validate(client).model_dump(), "api_key": key}


@admin.post("/clients/{client_id}/revoke", response_model=ClientOut)
def revoke_client(client_id: int, request: Request, db: DB, user: Staff) -> Any:
    """Revoke a client's key (admin)."""
    scope.check_role(user, ApiClient, "change")
    client = service.get_client(db, client_id)
    return actions.revoke_client(db, client, actor=user, ip=client_ip(request))
