"""Open311 state changes: issue and revoke client keys, take in a POSTed request."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases import idempotency
from civgrid.cases.actions.intake import Contact, plan_report, write_report
from civgrid.cases.attachments import CheckedImage, add_photos, check_image
from civgrid.cases.engine import Step
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.cases.public import check_public_description, has_html
from civgrid.cases.service import locate
from civgrid.catalogue.models import Category
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Invalid, NotFound
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

    category: Category
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
    try:
        category = service.get_service(db, sub.service_code)
    except NotFound:
        raise Invalid(f"service_code {sub.service_code} is not a known service") from None
    if sub.media_url:
        # Fetching a URL a client names would make us an open proxy; photos are uploaded.
        raise Invalid("media_url is not fetched here; upload the photo as the multipart 'media'")
    if has_html(sub.address_string):
        raise Invalid("address_string must be plain text, without HTML")
    lon, lat = _location(db, sub)
    description = check_public_description(sub.description)
    answers = service.check_answers(service.attributes_of(db, category.code), sub.attributes)
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
    client = service.client_for_key(db, sub.api_key)
    checked = check_submission(db, sub, media)
    scope = f"open311:{client.id}"
    if idempotency_key is not None:
        first = idempotency.claim(db, scope, idempotency_key)
        if first is not None:
            db.rollback()
            return Submitted(**json.loads(first))
    planned = plan_report(
        db,
        source=CaseSource.OPEN311,
        category=checked.category,
        lon=checked.lon,
        lat=checked.lat,
        description=checked.description,
        contact=checked.contact,
        address=sub.address_string,
        actor=None,
    )
    token = str(uuid.uuid4())

    def extras(case: Case, _found: object) -> None:
        _record_extras(db, case, client, checked, token)
        if idempotency_key is not None:
            answer = json.dumps({"number": case.number, "token": token})
            idempotency.remember(db, scope, idempotency_key, case.id, answer)

    write_report(db, planned, extras=extras)
    return Submitted(planned.case.number, token)


def _record_extras(
    db: Session, case: Case, client: ApiClient, checked: Checked, token: str
) -> None:
    """The token, answers and photo of a request whose case was just written (not committed)."""
    now = case.reported_at
    db.add(RequestToken(token=token, case_id=case.id, client_id=client.id, created_at=now))
    db.add_all(AttributeAnswer(case_id=case.id, code=c, value=v) for c, v in checked.answers)
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_EVERY:
        client.last_used_at = now
    if checked.image is not None:
        name = f"open311.{checked.image.format.lower()}"
        add_photos(
            Step(db, case, None, now=now),
            [checked.image],
            kind=AttachmentKind.BEFORE,
            filename=name,
        )
