"""The audit log is append-only, in the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from civgrid.audit.actions import log_personal_data_read, record
from civgrid.audit.service import recent_events


def test_personal_data_read_hook_records_who_what_why(db: Session, make_user) -> None:
    reader = make_user("dispatcher", ("division", "441900101"))
    log_personal_data_read(
        db,
        actor=reader,
        subject_type="case_reporter",
        subject_ids=[7, 8],
        fields={"phone", "name"},
        purpose="call back",
        ip="10.0.0.5",
    )
    db.commit()
    event = recent_events(db, action="personal_data.read", limit=1)[0]
    assert event.actor_id == reader.id
    assert event.ip == "10.0.0.5"
    assert event.detail == {"ids": ["7", "8"], "fields": ["name", "phone"], "purpose": "call back"}
    assert event.at.tzinfo is not None


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"]
)
def test_audit_rows_cannot_be_changed(db: Session, statement: str) -> None:
    record(db, "test.event", actor=None)
    db.commit()
    with pytest.raises(DBAPIError, match="append-only|permission denied"), db.begin_nested():
        db.execute(text(statement))
