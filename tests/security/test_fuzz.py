"""Fuzzing in the suite: schemathesis over the app's own OpenAPI document.

Every operation of ``/openapi.json`` gets generated requests, anonymously and with an admin's
bearer token, on the test's rolled-back database. Any 5xx, any status the document does not
list for the operation, any body that does not match its documented schema fails the test.
Bounded (a few examples per operation, derandomized) to stay within about two minutes per
backend; ``make fuzz`` runs the long version (``scripts/fuzz.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from civgrid.web.app import create_app

# Not yet in `make test`: on this 2-core machine the run takes far longer than its two-minute
# budget, and it still finds failures to fix (see docs/security.md). CIVGRID_FUZZ=1 runs it.
pytestmark = pytest.mark.skipif(not os.environ.get("CIVGRID_FUZZ"), reason="set CIVGRID_FUZZ=1")

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = 3


class _TestApp:
    """Forwards to the running test's ``app`` (on its rolled-back database).

    The document is read at collection, when there is no test (and no database) yet.
    """

    current: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.current(scope, receive, send)


_app = _TestApp()
schema = schemathesis.openapi.from_dict(create_app().openapi())
schema.app = _app
# The coverage phase (every boundary value of every parameter) is unbounded by max_examples.
schema.config.phases.coverage.enabled = False


@pytest.fixture(autouse=True)
def _serve(app: Any) -> Iterator[None]:
    _app.current = app
    yield
    _app.current = None


@pytest.fixture
def admin_headers(make_user, bearer) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_user("admin", ("all", ""), username="fuzz-admin"))  # type: ignore[no-any-return]


bounded = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
)


@schema.parametrize()
@bounded
def test_anonymous(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@bounded
def test_admin(case: Any, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=admin_headers, checks=CHECKS)
