"""Queries behind the GeoReport documents: services, definitions, clients, requests."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civgrid.cases.public import mask_personal, public_attachment, public_cases, public_status
from civgrid.cases.transitions import CaseState
from civgrid.catalogue.models import Category, Stage
from civgrid.db.cache import TableCache, clear_with_caches
from civgrid.departments.models import Department
from civgrid.errors import Forbidden, Invalid, NotFound
from civgrid.open311.formats import w3c
from civgrid.open311.models import (
    ApiClient,
    AttributeType,
    RequestToken,
    ServiceAttribute,
)
from civgrid.open311.schemas import RequestQuery

scope.register(ApiClient, roles={"view": {Role.ADMIN}, "change": {Role.ADMIN}})

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
OPEN_STATES = [s for s in CaseState if s.is_open]
CLOSED_STATES = [s for s in CaseState if not s.is_open]


# --- services --------------------------------------------------------------------------------


def _offered() -> Select[Category]:
    # Complaints about grid staff go through the supervision channel, never a public API.
    return select(Category).where(Category.is_active, Category.is_staff_complaint.is_(False))


def list_services(db: Session) -> Sequence[Category]:
    """Every category an outside system may report, by code."""
    return db.scalars(_offered().order_by(Category.code)).all()


def get_service(db: Session, service_code: str) -> Category:
    """One offered category by its code (404 otherwise)."""
    found = db.scalar(_offered().where(Category.code == service_code))
    if found is None:
        raise NotFound(f"service_code {service_code} not found")
    return found


def attributes_of(db: Session, service_code: str) -> Sequence[ServiceAttribute]:
    """The service's attributes in the order they are asked."""
    query = select(ServiceAttribute).where(ServiceAttribute.service_code == service_code)
    return db.scalars(query.order_by(ServiceAttribute.order, ServiceAttribute.id)).all()


def codes_with_attributes(db: Session) -> set[str]:
    return set(db.scalars(select(ServiceAttribute.service_code).distinct()))


def _keywords(category: Category) -> str:
    words = [category.name_zh, *category.keywords.split()]
    return ",".join(dict.fromkeys(w.strip(",") for w in words if w.strip(",")))


def service_doc(category: Category, *, metadata: bool) -> dict[str, Any]:
    """One entry of GET services."""
    return {
        "service_code": category.code,
        "service_name": category.name("en"),
        "description": f"{category.name_zh} ({category.kind.label_en})",
        "metadata": metadata,
        "type": "realtime",
        "keywords": _keywords(category),
        "group": category.major_name_en or category.major_name_zh,
    }


def definition_doc(category: Category, attributes: Iterable[ServiceAttribute]) -> dict[str, Any]:
    """GET services/{code}: the service's attributes."""
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": [{"key": v["key"], "name": v["name"]} for v in a.values],
            }
            for a in attributes
        ],
    }


def check_answers(
    attributes: Sequence[ServiceAttribute], given: dict[str, list[str]]
) -> list[tuple[str, str]]:
    """(code, value) rows for the answers; :class:`Invalid` if a required one is missing or bad.

    Answers to codes the service does not ask are ignored, as the spec allows.
    """
    rows: list[tuple[str, str]] = []
    for attr in attributes:
        values = given.get(attr.code, [])
        if not attr.variable:
            continue
        if not values:
            if attr.required:
                raise Invalid(f"attribute[{attr.code}] is required: {attr.description}")
            continue
        if attr.datatype != AttributeType.MULTI and len(values) > 1:
            raise Invalid(f"attribute[{attr.code}] takes one value")
        for value in values:
            _check_value(attr, value)
            rows.append((attr.code, value))
    return rows


def _check_value(attr: ServiceAttribute, value: str) -> None:
    if attr.datatype in (AttributeType.SINGLE, AttributeType.MULTI):
        keys = [str(v["key"]) for v in attr.values]
        if value not in keys:
            raise Invalid(f"attribute[{attr.code}] must be one of: {', '.join(keys)}")
    elif attr.datatype == AttributeType.NUMBER:
        try:
            float(value)
        except ValueError:
            raise Invalid(f"attribute[{attr.code}] must be a number") from None
    elif attr.datatype == AttributeType.DATETIME:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"attribute[{attr.code}] must be a W3C datetime") from None
    if len(value) > 2000:
        raise Invalid(f"attribute[{attr.code}] is longer than 2000 characters")


# --- clients and tokens ----------------------------------------------------------------------


def hash_key(key: str) -> str:
    """The stored form of an API key (keys are long random strings, so SHA-256 suffices)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KnownClient:
    """What intake needs of an API client: its id, and when its use was last recorded."""

    id: int
    key_sha256: str
    last_used_at: datetime | None


def _load_clients(db: Session) -> dict[str, KnownClient]:
    rows = db.execute(
        select(ApiClient.key_sha256, ApiClient.id, ApiClient.last_used_at).where(
            ApiClient.revoked_at.is_(None)
        )
    )
    return {sha: KnownClient(id_, sha, used) for sha, id_, used in rows}


# The active clients by key hash: dropped when this process writes a client (issuing or
# revoking a key) and at least every 2 s for another process's change (civgrid.db.cache).
_CLIENTS: TableCache[dict[str, KnownClient]] = TableCache(
    "open311_clients", _load_clients, (ApiClient,)
)


def client_for_key(db: Session, key: str) -> KnownClient:
    """The active client holding ``key``; 403 for a missing, unknown or revoked key."""
    if not key:
        raise Forbidden("api_key is required")
    client = _CLIENTS.get(db).get(hash_key(key))
    if client is None:
        raise Forbidden("api_key is not valid")
    return client


@dataclass(frozen=True)
class Offered:
    """An offered service as intake checks it: its category and its attributes (detached)."""

    category_id: int
    major_emergency: bool
    attributes: tuple[ServiceAttribute, ...]


def _load_offered(db: Session) -> dict[str, Offered]:
    attributes: dict[str, list[ServiceAttribute]] = {}
    query = select(ServiceAttribute).order_by(ServiceAttribute.order, ServiceAttribute.id)
    for attr in db.scalars(query):
        attributes.setdefault(attr.service_code, []).append(attr)
    offered = {
        c.code: Offered(c.id, bool(c.is_major_emergency), tuple(attributes.get(c.code, ())))
        for c in db.scalars(_offered())
    }
    for attrs in attributes.values():  # kept, read-only, beyond this session
        for attr in attrs:
            db.expunge(attr)
    return offered


_OFFERED: TableCache[dict[str, Offered]] = TableCache(
    "open311_offered", _load_offered, (Category, ServiceAttribute)
)


def offered_service(db: Session, service_code: str) -> Offered:
    """An offered service by its code, for intake (400 otherwise), from the cache."""
    found = _OFFERED.get(db).get(service_code)
    if found is None:
        raise Invalid(f"service_code {service_code} is not a known service")
    return found


def list_clients(db: Session) -> Sequence[ApiClient]:
    return db.scalars(select(ApiClient).order_by(ApiClient.name)).all()


def get_client(db: Session, client_id: int) -> ApiClient:
    client = db.get(ApiClient, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def case_for_token(db: Session, token: str) -> Case:
    """The case a request token stands for (404 if unknown)."""
    query = select(Case).join(RequestToken, RequestToken.case_id == Case.id)
    case = db.scalar(query.where(RequestToken.token == token))
    if case is None:
        raise NotFound(f"token {token} not found")
    return case


# --- requests --------------------------------------------------------------------------------


def get_request(db: Session, service_request_id: str) -> Any:
    """One publicly visible case by its number, as a GET requests row (404 otherwise)."""
    stmt = _request_rows().where(Case.number == service_request_id)
    case = db.execute(_with_photos(stmt)).first()
    if case is None:
        raise NotFound(f"service_request_id {service_request_id} not found")
    return case


class PageEnds:
    """Where each page served lately ended, so that the page after it starts there (keyset).

    GeoReport v2 pages by number (``page``), which SQL would answer with ``OFFSET``: reading
    and dropping every request before the page. A client walks the pages in turn, so the
    page it asks for next usually begins right after the last one this process served; then
    the page is read from the index from that row on. Other pages (a jump, another process,
    an end older than ``ttl`` seconds) fall back to the offset. Bounded, thread-safe.
    """

    def __init__(self, size: int = 4096, ttl: float = 600.0) -> None:
        self.size, self.ttl = size, ttl
        self._ends: OrderedDict[tuple[Any, ...], tuple[float, datetime, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[datetime, int] | None:
        with self._lock:
            found = self._ends.get(key)
            if found is None or time.monotonic() - found[0] > self.ttl:
                return None
            return found[1], found[2]

    def put(self, key: tuple[Any, ...], last: Any) -> None:
        with self._lock:
            self._ends[key] = (time.monotonic(), last.reported_at, last.id)
            self._ends.move_to_end(key)
            while len(self._ends) > self.size:
                self._ends.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._ends.clear()


PAGE_ENDS = PageEnds()
clear_with_caches(PAGE_ENDS)


# What a GET requests entry shows of a case (``request_docs``): a page of 1,000 reads these
# columns alone, as rows, not the cases' every column as objects of the session.
REQUEST_COLUMNS = (
    Case.id,
    Case.number,
    Case.state,
    Case.outcome_note,
    Case.category_id,
    Case.description,
    Case.department_code,
    Case.reported_at,
    Case.updated_at,
    Case.due_at,
    Case.stage,
    Case.address,
    Case.lat,
    Case.lon,
)


def _request_rows() -> Select[Any]:
    query: Any = public_cases().with_only_columns(*REQUEST_COLUMNS)
    return query


def _first_photo(case_id: Any) -> Any:
    """The id of case ``case_id``'s first reporter photo (the one GET requests links to), as a
    scalar subquery."""
    return (
        select(func.min(CaseAttachment.id))
        .where(CaseAttachment.case_id == case_id, CaseAttachment.kind == AttachmentKind.BEFORE)
        .scalar_subquery()
    )


def _with_photos(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (public cases as ``REQUEST_COLUMNS``, ordered, limited) with each case's
    ``_first_photo``, looked up outside the page's query so that only the rows of the page look
    (an offset's rows are computed, then dropped)."""
    page = stmt.subquery()
    photo = _first_photo(page.c.id).label("photo_id")
    return select(page, photo).order_by(page.c.reported_at.desc(), page.c.id.desc())


def find_requests(db: Session, query: RequestQuery) -> Sequence[Any]:
    """GET requests, as rows of ``REQUEST_COLUMNS``: ids override every other filter, as the
    spec says; newest first.

    A page that follows one served lately starts after its last row (:class:`PageEnds`).
    """
    stmt = _request_rows()
    if query.ids:
        stmt = stmt.where(Case.number.in_(query.ids))
    else:
        if query.service_codes:
            stmt = stmt.where(Category.code.in_(query.service_codes))
        if query.statuses and set(query.statuses) != {"open", "closed"}:
            states = OPEN_STATES if query.statuses == ["open"] else CLOSED_STATES
            stmt = stmt.where(Case.state.in_(states))
        if query.start is not None:
            stmt = stmt.where(Case.reported_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(Case.reported_at <= query.end)
    stmt = stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(query.page_size)
    key = (*query.filters(), query.page_size)
    end = PAGE_ENDS.get((*key, query.page - 1)) if query.page > 1 else None
    if end is not None:
        stmt = stmt.where(tuple_(Case.reported_at, Case.id) < tuple_(*end))
    else:
        stmt = stmt.offset((query.page - 1) * query.page_size)
    found = db.execute(_with_photos(stmt)).all()
    if len(found) == query.page_size:
        PAGE_ENDS.put((*key, query.page), found[-1])
    return found


def public_photo(db: Session, attachment_id: int) -> CaseAttachment:
    """An attachment GET requests links to: a case's first reporter photo, public case only."""
    try:
        att = public_attachment(db, attachment_id)
    except NotFound:
        att = None
    if att is None or db.scalar(select(_first_photo(att.case_id))) != att.id:
        raise NotFound(f"media {attachment_id} not found")
    return att


def request_docs(db: Session, cases: Sequence[Any], media_base: str) -> list[dict[str, Any]]:
    """GET requests entries for ``cases`` (rows of ``_with_photos``): two queries whatever their
    number."""
    categories = {c.id: c for c in _by_id(db, Category, {c.category_id for c in cases})}
    dept_codes = {c.department_code for c in cases if c.department_code}
    departments: dict[str, Department] = {}
    if dept_codes:
        rows = db.scalars(select(Department).where(Department.code.in_(dept_codes)))
        departments.update({d.code: d for d in rows})
    docs = []
    for case in cases:
        category = categories[case.category_id]
        dept = departments.get(case.department_code or "")
        docs.append(
            {
                "service_request_id": case.number,
                "status": public_status(case.state),
                "status_notes": mask_personal(case.outcome_note) or None,
                "service_name": category.name("en"),
                "service_code": category.code,
                "description": mask_personal(case.description),
                "agency_responsible": (dept.name_en or dept.name_zh) if dept else None,
                "service_notice": None,
                "requested_datetime": w3c(case.reported_at),
                "updated_datetime": w3c(case.updated_at),
                "expected_datetime": w3c(case.due_at) if case.stage == Stage.HANDLE else None,
                "address": mask_personal(case.address) or None,
                "address_id": None,
                "zipcode": None,
                "lat": case.lat,
                "long": case.lon,
                "media_url": f"{media_base}/{case.photo_id}" if case.photo_id else None,
            }
        )
    return docs


def _by_id(db: Session, model: Any, ids: set[int]) -> Sequence[Any]:
    return db.scalars(select(model).where(model.id.in_(ids))).all() if ids else []
