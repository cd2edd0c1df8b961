"""On PostgreSQL the app runs as a role that owns nothing (civgrid.db.roles): it cannot empty,
rewrite or unprotect the append-only logs, while the owner runs the migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.audit.models import AuditEvent
from civgrid.db.migrate import grant
from civgrid.errors import Invalid
from tests.conftest import BACKEND, OWNER_URL

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="database roles: PostgreSQL")

APPEND_ONLY = ("audit_events", "case_events", "grid_versions", "dispute_events")

REFUSED = [
    *(f"TRUNCATE {t}" for t in APPEND_ONLY),
    *(f"DELETE FROM {t}" for t in APPEND_ONLY),  # noqa: S608  (fixed table names)
    "UPDATE audit_events SET action = 'x'",
    "UPDATE case_events SET note = 'x'",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "ALTER TABLE case_events DISABLE TRIGGER ALL",
    "SET session_replication_role = replica",
    "DROP TABLE audit_events",
    "CREATE TABLE intruder (id int)",
    "UPDATE alembic_version SET version_num = 'x'",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_app_role_cannot(db: Session, statement: str) -> None:
    record(db, "test.event", actor=None)
    db.commit()
    with pytest.raises(DBAPIError, match="permission denied|must be owner"), db.begin_nested():
        db.execute(text(statement))


def test_the_app_role_owns_nothing_and_is_not_the_owner(db: Session) -> None:
    me = db.scalar(text("SELECT current_user"))
    assert me != db.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'cases'"))
    owned = db.scalar(
        text(
            "SELECT count(*) FROM pg_class "
            "WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
    )
    assert owned == 0
    flags = db.execute(
        text(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    assert tuple(flags) == (False, False, False, False)


def test_the_app_works_as_that_role(db: Session) -> None:
    """It reads and appends; the suite as a whole runs as this role."""
    record(db, "test.appended", actor=None, ip="10.0.0.1")
    db.commit()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "test.appended")).one()
    assert event.ip == "10.0.0.1"


def test_the_owner_is_still_held_by_the_trigger() -> None:
    owner = create_engine(OWNER_URL["url"])
    try:
        with owner.connect() as conn:  # never committed
            conn.execute(
                text(
                    "INSERT INTO audit_events (at, actor_label, ip, action, object_type, "
                    "object_id, detail) VALUES (now(), 'owner', '', 'owner.test', '', '', '{}')"
                )
            )
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(
                    text("UPDATE audit_events SET action = 'x' WHERE action = 'owner.test'")
                )
    finally:
        owner.dispose()


def test_grant_is_repeatable_and_refuses_the_owner(engine: Engine) -> None:
    me = str(engine.url.username)
    assert grant(OWNER_URL["url"], me) is False  # exists: grants brought up to date only
    owner = str(make_url(OWNER_URL["url"]).username)
    with pytest.raises(Invalid, match="owner"):
        grant(OWNER_URL["url"], owner)
