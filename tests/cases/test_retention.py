"""The retention purge (civgrid.retention): exactly the data past its period, audited, once."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from civgrid.audit.models import AuditEvent
from civgrid.auth.models import LoginFailure
from civgrid.cases import actions
from civgrid.cases.actions.intake import Contact
from civgrid.cases.attachments import Rendition, path_for
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civgrid.cases.sweep import sweep
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.retention.actions import GPS_IFD, pseudonym, purge
from tests.cases.conftest import World

OLD, RECENT = timedelta(days=200), timedelta(days=10)
GPS = {1: "N", 2: (23.0, 5.0, 42.0), 3: "E", 4: (113.0, 48.0, 18.0)}


def jpeg_with_gps(colour: tuple[int, int, int]) -> bytes:
    exif = Image.Exif()
    exif[GPS_IFD] = GPS
    exif[0x010F] = "TestCam"  # the camera make: not location, stays
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def exif_of(att: CaseAttachment) -> Image.Exif:
    with Image.open(path_for(att.sha256, Rendition.ORIGINAL)) as img:
        assert img.size == (40, 30)
        return img.getexif()


@dataclass
class Backdated:
    old_case: Case
    recent_case: Case
    open_case: Case
    old_photo: CaseAttachment
    recent_photo: CaseAttachment
    old_failure: int
    recent_failure: int
    old_event: int
    recent_event: int


def closed_case(world: World, phone: str, closed_ago: timedelta, colour: tuple[int, int, int]):  # type: ignore[no-untyped-def]
    case = world.reported(contact=Contact(phone=phone, email=f"{phone}@example.cn")).case
    world.drive(case, "register", "dispatch", "accept", "start", "handle", "verify", "close")
    photo = actions.attach_photo(
        world.db,
        case,
        actor=world.dispatcher,
        data=jpeg_with_gps(colour),
        kind=AttachmentKind.AFTER,
        filename="gps.jpg",
    )
    when = utcnow() - closed_ago
    world.db.execute(
        update(Case.__table__).where(Case.id == case.id).values(closed_at=when, updated_at=when)
    )
    world.db.commit()
    return case, photo


@pytest.fixture
def backdated(world: World) -> Backdated:
    db = world.db
    old_case, old_photo = closed_case(world, "13800000001", OLD, (10, 20, 30))
    recent_case, recent_photo = closed_case(world, "13800000002", RECENT, (40, 50, 60))
    open_case = world.reported(contact=Contact(phone="13800000003")).case
    db.execute(
        update(Case.__table__).where(Case.id == open_case.id).values(updated_at=utcnow() - OLD)
    )
    failures = [
        LoginFailure(username=u, ip="10.9.9.9", at=utcnow() - d)
        for u, d in (("typo-old", timedelta(days=31)), ("typo-new", timedelta(days=29)))
    ]
    events = [
        AuditEvent(
            action="login.failed",
            actor_label="anonymous",
            ip=ip,
            at=utcnow() - d,
            detail={"username": u},
        )
        for u, ip, d in (("adnim", "10.1.2.3", OLD), ("admni", "10.1.2.4", RECENT))
    ]
    db.add_all(failures + events)
    db.commit()
    db.expire_all()
    return Backdated(
        old_case,
        recent_case,
        open_case,
        old_photo,
        recent_photo,
        failures[0].id,
        failures[1].id,
        events[0].id,
        events[1].id,
    )


def purge_events(db: Session) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "retention.purge")
        )
        or 0
    )


EXPECTED = {
    "reporter_contact": 1,
    "login_failures": 1,
    "login_usernames": 1,
    "audit_ip": 1,
    # The old case's GPS JPEG; not its handler's PNG: the recent case has the same picture,
    # stored once, so that original waits for the recent case's period too.
    "photo_location": 1,
    "dispute_parties": 0,  # tests/mediation/test_retention.py
}


def test_dry_run_counts_and_changes_nothing(db: Session, backdated: Backdated) -> None:
    report = purge(db, dry_run=True)
    assert report.counts == EXPECTED
    db.expire_all()
    assert backdated.old_case.reporter_phone == "13800000001"
    assert db.get(LoginFailure, backdated.old_failure) is not None
    event = db.get(AuditEvent, backdated.old_event)
    assert event is not None and event.ip == "10.1.2.3" and event.detail == {"username": "adnim"}
    assert GPS_IFD in exif_of(backdated.old_photo)
    assert db.get(CaseAttachment, backdated.old_photo.id).location_removed_at is None  # type: ignore[union-attr]
    assert purge_events(db) == 0


def test_purge_removes_exactly_the_old_data_once(db: Session, backdated: Backdated) -> None:
    report = purge(db)
    assert report.counts == EXPECTED
    db.expire_all()
    b = backdated
    assert (b.old_case.reporter_phone, b.old_case.reporter_email) == (None, None)
    assert b.recent_case.reporter_phone == "13800000002"
    assert b.recent_case.reporter_email == "13800000002@example.cn"
    assert b.open_case.reporter_phone == "13800000003"
    assert db.get(LoginFailure, b.old_failure) is None
    assert db.get(LoginFailure, b.recent_failure) is not None
    old_event, recent_event = db.get(AuditEvent, b.old_event), db.get(AuditEvent, b.recent_event)
    assert old_event is not None and recent_event is not None
    secret = get_settings().secret_key
    assert old_event.ip == pseudonym("10.1.2.3", secret) and old_event.detail == {}
    assert old_event.action == "login.failed" and old_event.actor_label == "anonymous"
    assert recent_event.ip == "10.1.2.4" and recent_event.detail == {"username": "admni"}
    old_exif = exif_of(b.old_photo)
    assert GPS_IFD not in old_exif and old_exif[0x010F] == "TestCam"
    assert GPS_IFD in exif_of(b.recent_photo)
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).one()
    assert audit.detail["counts"] == EXPECTED
    assert audit.detail["days"]["reporter_contact"] == 180

    again = purge(db)
    assert again.total == 0
    assert purge_events(db) == 1


def test_the_sweep_runs_the_purge(db: Session, backdated: Backdated) -> None:
    report = sweep(db)
    assert report.retention == EXPECTED
    db.expire_all()
    assert backdated.old_case.reporter_phone is None


def test_the_cli_shows_a_table_and_changes_nothing_on_dry_run(backdated: Backdated) -> None:
    from civgrid.cli import app

    # The CLI opens sessions of its own: it sees committed data only, and the fixture's is
    # held in the test's outer transaction, so the table shows the kinds and their settings.
    result = CliRunner().invoke(app, ["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert "RETENTION_REPORTER_CONTACT_DAYS" in result.output
    assert "photo_location" in result.output


def test_the_audit_log_refuses_any_other_rewrite(db: Session, backdated: Backdated) -> None:
    from sqlalchemy.exc import DBAPIError

    statements = [
        update(AuditEvent).where(AuditEvent.id == backdated.old_event).values(ip="1.2.3.4"),
        update(AuditEvent).where(AuditEvent.id == backdated.old_event).values(action="x"),
        update(AuditEvent).where(AuditEvent.id == backdated.old_event).values(detail={"a": 1}),
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only|permission denied"), db.begin_nested():
            db.execute(statement.execution_options(synchronize_session=False))
