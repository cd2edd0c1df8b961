"""The care list and the mediation desk do not run a query per row."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.care.conftest import Care


def _statements(client: TestClient, db: Session, url: str, headers: dict[str, str]) -> int:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.get_bind(), "before_cursor_execute", count)
    try:
        assert client.get(url, headers=headers).status_code == 200
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", count)
    return len(statements)


def test_list_pages_query_count_does_not_grow_with_rows(
    client: TestClient, db: Session, bearer, care: Care
) -> None:  # type: ignore[no-untyped-def]
    from civgrid.mediation import actions as mediation

    h = bearer(care.leader)

    def dispute() -> None:
        mediation.create_dispute(
            db,
            actor=care.leader,
            kind="neighbour",
            summary="噪音",
            parties=[mediation.Party("甲", "")],
            territory_code=care.grid_code,
        )

    for url, add in (("/care", care.enrol), ("/mediation", dispute)):
        _statements(client, db, url, h)
        add()
        baseline = _statements(client, db, url, h)
        for _ in range(4):
            add()
        assert _statements(client, db, url, h) == baseline, url
