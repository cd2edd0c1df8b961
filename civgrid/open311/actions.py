"""Open311 state changes: issue and revoke client keys, take in a POSTed request."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases import idempotency
from civgrid.cases.actions.intake import (
    Contact,
    NewCase,
    plan_report,
    write_report,
    write_report_async,
)
from civgrid.cases.attachments import CheckedImage, add_photos, check_image
from civgrid.cases.engine import Step
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.cases.public import check_public_description, has_html
from civgrid.cases.service import locate
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Invalid
from civgrid.open311 import service
from civgrid.open311.models import ApiClient, AttributeAnswer, RequestToken
from civgrid.open311.schemas import Submission


def issue_client(
    db: Session, *, name: str, actor: User | None, ip: str = ""
) -> tuple[ApiClient, str]:
    """Issue an API key to a named outside system; the key is returned once, only its hash kept.

    ``actor`` None is the command line (an operator on the server).
    """
    if actor is not None:
        scope.check_role(actor, ApiClient, "change")
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid("a client name of 1 to 100 characters is required", field="name")
    if db.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise Conflict(f"an Open311 client named {name!r} already exists")
    key = secrets.token_urlsafe(32)
    client = ApiClient(
        name=name,
        key_sha256=service.hash_key(key),
        key_hint=key[:6],
        created_by_id=actor.id if actor else None,
    )
    db.add(client)
    db.flush()
    record(
        db,
        "open311.client.issue",
        actor=actor,
        ip=ip,
        object_type="open311_client",
        object_id=client.id,
        detail={"name": name},
    )
    db.commit()
    return client, key


def revoke_client(db: Session, client: ApiClient, *, actor: User | None, ip: str = "") -> ApiClient:
    """Revoke a client's key: its requests stay, new ones are refused with 403."""
    if actor is not None:
        scope.check_role(actor, ApiClient, "change")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        record(
            db,
            "open311.client.revoke",
            actor=actor,
            ip=ip,
            object_type="open311_client",
            object_id=client.id,
            detail={"name": client.name},
        )
        db.commit()
    return client


@dataclass(frozen=True)
class Checked:
    """A submission that passed every check: nothing has been written yet."""

    category: service.Offered
    lon: float
    lat: float
    description: str
    contact: Contact
    answers: list[tuple[str, str]]
    image: CheckedImage | None


def _location(db: Session, sub: Submission) -> tuple[float, float]:
    if not (sub.lat and sub.long):
        if sub.address_string or sub.address_id:
            raise Invalid("lat and long are required: addresses are not geocoded here")
        raise Invalid("a location (lat and long) is required")
    try:
        lat, lon = float(sub.lat), float(sub.long)
    except ValueError:
        raise Invalid("lat and long must be decimal degrees (WGS84)") from None
    locate(db, lon, lat)  # 400 outside the service area
    return lon, lat


async def read_media(sub: Submission) -> bytes | None:
    """The uploaded photo's bytes, read no further than one byte past the size limit."""
    if sub.media is None:
        return None
    return await sub.media.read(get_settings().attachment_max_bytes + 1)


def check_submission(db: Session, sub: Submission, media: bytes | None) -> Checked:
    """Every check on a POSTed request, before anything is stored (400 on the first failure)."""
    if not sub.service_code:
        raise Invalid("service_code is required")
    category = service.offered_service(db, sub.service_code)
    if sub.media_url:
        # Fetching a URL a client names would make us an open proxy; photos are uploaded.
        raise Invalid("media_url is not fetched here; upload the photo as the multipart 'media'")
    if has_html(sub.address_string):
        raise Invalid("address_string must be plain text, without HTML")
    lon, lat = _location(db, sub)
    description = check_public_description(sub.description)
    answers = service.check_answers(category.attributes, sub.attributes)
    contact = Contact(phone=sub.phone or None, email=sub.email or None).validated()
    image = check_image(media) if media is not None else None
    return Checked(category, lon, lat, description, contact, answers, image)


# ``ApiClient.last_used_at`` is written at most this often per client: every request writing
# it made the client's row the hottest in the database (all its requests queued on it).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Submitted:
    """A taken-in request: its case number (the service_request_id) and its token."""

    number: str
    token: str


@dataclass(frozen=True)
class Prepared:
    """A checked request, planned as a case: nothing written yet."""

    client: service.KnownClient
    checked: Checked
    planned: NewCase
    token: str

    @property
    def one_statement(self) -> bool:
        """Whether the case and its token are all there is to write (no answers, no photo,
        no major-emergency notice): one statement on PostgreSQL."""
        c = self.checked
        return not (c.answers or c.image is not None or self.planned.major_emergency)


def prepare_request(db: Session, sub: Submission, media: bytes | None) -> Prepared:
    """The key (403), every field (400), and the case planned; reads only what the caches
    hold (the clients, the offered services, the grids, the calendar) when they are fresh."""
    client = service.client_for_key(db, sub.api_key)
    checked = check_submission(db, sub, media)
    planned = plan_report(
        db,
        source=CaseSource.OPEN311,
        category=checked.category.category_id,
        lon=checked.lon,
        lat=checked.lat,
        description=checked.description,
        contact=checked.contact,
        address=sub.address_string,
        actor=None,
    )
    return Prepared(client, checked, planned, str(uuid.uuid4()))


def submit_request(
    db: Session, sub: Submission, *, media: bytes | None, idempotency_key: str | None = None
) -> Submitted:
    """Take in an Open311 request (上报 through an outside system) as a case.

    The key is checked first (403), then every field (400). The case enters the one intake
    pipeline anonymously: names are never stored, only the optional phone and e-mail. The
    case, its token, the attribute answers and the photo are written in one transaction.
    With an ``idempotency_key`` the client used before, nothing is written and the first
    request's answer comes back.
    """
    return write_request(db, prepare_request(db, sub, media), idempotency_key)


def write_request(db: Session, prepared: Prepared, idempotency_key: str | None = None) -> Submitted:
    """Write a prepared request in ``db``'s transaction and commit (see ``submit_request``)."""
    client, case, token = prepared.client, prepared.planned.case, prepared.token
    scope = f"open311:{client.id}"
    if idempotency_key is not None:
        first = idempotency.claim(db, scope, idempotency_key)
        if first is not None:
            db.rollback()
            return Submitted(**json.loads(first))

    def extras(case: Case, _found: object) -> None:
        _record_extras(db, case, prepared)
        if idempotency_key is not None:
            answer = json.dumps({"number": case.number, "token": token})
            idempotency.remember(db, scope, idempotency_key, case.id, answer)

    write_report(db, prepared.planned, extras=extras)
    return Submitted(case.number, token)


async def write_request_async(conn: psycopg.AsyncConnection[Any], prepared: Prepared) -> Submitted:
    """Write a prepared request whose case and token are all (``Prepared.one_statement``) with
    one statement on an autocommit PostgreSQL connection."""
    if not prepared.one_statement:
        raise ValueError("answers, a photo or a notice are written with write_request")
    case = prepared.planned.case
    token = {
        "token": prepared.token,
        "client_id": prepared.client.id,
        "created_at": case.reported_at,
    }
    await write_report_async(conn, prepared.planned, linked=(TOKENS, token))
    if _last_use_due(prepared.client, case.reported_at):
        await conn.execute(_TOUCH, (case.reported_at, prepared.client.id))
    return Submitted(case.number, prepared.token)


TOKENS: Table = RequestToken.__table__  # type: ignore[assignment]
_TOUCH = "UPDATE open311_clients SET last_used_at = %s WHERE id = %s"
# by client key (hash): when this process last wrote the client's last_used_at
_TOUCHED: dict[str, datetime] = {}


def _last_use_due(client: service.KnownClient, now: datetime) -> bool:
    """Whether to record the client's use now (at most every ``LAST_USED_EVERY``)."""
    last = max(
        (t for t in (client.last_used_at, _TOUCHED.get(client.key_sha256)) if t), default=None
    )
    if last is not None and now - last < LAST_USED_EVERY:
        return False
    _TOUCHED[client.key_sha256] = now
    return True


def _record_extras(db: Session, case: Case, prepared: Prepared) -> None:
    """The token, answers and photo of a request whose case was just written (not committed)."""
    now, client, checked = case.reported_at, prepared.client, prepared.checked
    db.add(RequestToken(token=prepared.token, case_id=case.id, client_id=client.id, created_at=now))
    db.add_all(AttributeAnswer(case_id=case.id, code=c, value=v) for c, v in checked.answers)
    if _last_use_due(client, now):
        db.execute(update(ApiClient).where(ApiClient.id == client.id).values(last_used_at=now))
    if checked.image is not None:
        name = f"open311.{checked.image.format.lower()}"
        step = Step(db, case, None, now=now)
        add_photos(step, [checked.image], kind=AttachmentKind.BEFORE, filename=name)
