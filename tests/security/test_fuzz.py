"""Fuzzing in the suite: schemathesis over the app's own OpenAPI document.

Every operation of ``/openapi.json`` gets generated requests, valid and invalid, anonymously
and with an admin's bearer token. Any 5xx, any status the document does not list for the
operation, any body unlike its documented schema fails the test.

Bounded to stay well within two minutes per backend: one app and one database transaction for
the module (rolled back at its end; each request has its own session in it, as when serving),
one admin, ``EXAMPLES`` cases per operation and identity from a fixed seed (the same requests on
every run). ``CIVGRID_FUZZ=<n>`` runs ``n`` cases each (``CIVGRID_FUZZ=1``: 25); ``make fuzz``
is the long run on a demo database (``scripts/fuzz.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from civgrid.web.app import create_app
from tests.security.fuzzing import (
    Fuzzer,
    Served,
    admin_headers,
    documented_operations,
    operations,
)

_deep = int(os.environ.get("CIVGRID_FUZZ") or 0)
EXAMPLES = (25 if _deep == 1 else _deep) or 6
SEED = 18

# Read at collection, when there is no database yet: the operations come from the document.
DOCUMENT = create_app().openapi()
LOGIN = "POST /api/v1/auth/token"  # its credentials are the body's, whatever the bearer token
ANONYMOUS = sorted(documented_operations(DOCUMENT))
AS_ADMIN = [label for label in ANONYMOUS if label != LOGIN]


@pytest.fixture(scope="module")
def by_label(fuzzer: Fuzzer) -> dict[str, Any]:
    """Schemathesis' operations of the document, by label."""
    return operations(DOCUMENT, fuzzer.served.app)


def test_every_documented_operation_is_fuzzed(by_label: dict[str, Any]) -> None:
    """A new endpoint cannot escape: schemathesis reads every operation of the document (and
    the tests below are parametrized by the document's operations)."""
    assert set(by_label) == set(ANONYMOUS)


@pytest.fixture(scope="module")
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions in one transaction, rolled back after the module (what requests commit too)."""
    from civgrid.db.cache import clear_all

    conn = engine.connect()
    outer = conn.begin()
    try:
        yield sessionmaker(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
    finally:
        outer.rollback()
        conn.close()
        clear_all()


@pytest.fixture(scope="module")
def fuzzer(sessions: sessionmaker[Session]) -> Fuzzer:
    from civgrid.db.session import get_db

    def request_db() -> Iterator[Session]:
        with sessions() as db:
            yield db

    app = create_app()
    app.dependency_overrides[get_db] = request_db
    return Fuzzer(Served(app), examples=EXAMPLES, seed=SEED)


@pytest.fixture(scope="module")
def admin(sessions: sessionmaker[Session]) -> Callable[[], dict[str, str]]:
    """Headers with a fresh token of one admin (created once); see ``admin_headers``."""
    from civgrid.auth.actions import create_user
    from civgrid.auth.models import Role, ScopeKind
    from tests.conftest import PASSWORD

    with sessions() as db:
        user = create_user(
            db,
            username="fuzz-admin",
            password=PASSWORD,
            role=Role.ADMIN,
            scopes=[(ScopeKind.ALL, "")],
            actor=None,
        )
        db.commit()
        user_id = user.id
    return lambda: admin_headers(sessions, user_id)


@pytest.mark.parametrize("label", ANONYMOUS)
def test_anonymous(fuzzer: Fuzzer, by_label: dict[str, Any], label: str) -> None:
    tally = fuzzer.run(by_label[label], "anonymous", None)
    assert tally.requests > 0
    assert not tally.failures, "\n".join(tally.failures)


@pytest.mark.parametrize("label", AS_ADMIN)
def test_admin(
    fuzzer: Fuzzer, by_label: dict[str, Any], admin: Callable[[], dict[str, str]], label: str
) -> None:
    tally = fuzzer.run(by_label[label], "admin", admin)
    assert tally.requests > 0
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.statuses[401] == 0, tally.statuses  # they went in with the admin's rights
