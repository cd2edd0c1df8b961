"""Schemathesis over the app's own OpenAPI document: the runner shared by the suite's bounded
fuzz test (``tests/security/test_fuzz.py``) and the long ``make fuzz`` (``scripts/fuzz.py``).

What makes it cheap: one app, one database, one admin for a whole run; requests go in-process
(schemathesis' ASGI transport); per operation one Hypothesis run of a bounded number of
generated cases, valid and invalid ones, from a fixed seed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

# No 5xx; only the statuses the document lists for the operation; bodies as documented.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A request slower than this is reported, not waited for.
TIMEOUT_SECONDS = 120


def documented_operations(document: dict[str, Any]) -> set[str]:
    """Every operation of an OpenAPI document, as ``"METHOD /path"``, read from the document."""
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def operations(document: dict[str, Any], app: Any) -> dict[str, Any]:
    """Schemathesis' operations of ``document`` by label; one it cannot read is an error."""
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # raises on an operation schemathesis cannot read
        found[operation.label] = operation
    return found


class Served:
    """The app as a server runs it: an exception its handler has already answered with a 500
    ends the request (and is noted here) instead of reaching the client."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.errors: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if not started:
                raise
            self.errors.append(f"{type(exc).__name__}: {exc}")


@dataclass
class Tally:
    """What a run got back: statuses, server errors per operation, answers unlike the document."""

    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # one line each: 5xx, unlike, timeout
    unlike_document: int = 0
    operations: set[str] = field(default_factory=set)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def summary(self) -> str:
        """One line of JSON."""
        return json.dumps(
            {
                "operations": len(self.operations),
                "requests": self.requests,
                "server_errors": sum(self.server_errors.values()),
                "server_errors_by_operation": dict(self.server_errors),
                "unlike_document": self.unlike_document,
                "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            },
            ensure_ascii=False,
        )


@dataclass
class Fuzzer:
    """Sends generated requests for one operation at a time to ``served`` and tallies them."""

    served: Served
    examples: int
    seed: int
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        # Not entered: no lifespan (the caller chose whether the app runs one).
        self.client = asgi.get_client(self.served)

    def run(self, operation: Any, who: str, headers: Callable[[], dict[str, str]] | None) -> Tally:
        """Fuzz ``operation`` as ``who`` (``headers`` gives its credentials); this run's tally."""
        mine = Tally(operations={operation.label})
        sent = headers() if headers else None
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @seed(self.seed)
        @settings(
            max_examples=self.examples,
            deadline=None,
            database=None,
            derandomize=False,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is told as found
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(case=cases)
        def send(case: Any) -> None:
            self._send(case, who, sent, mine)

        send()
        self._add(mine)
        return mine

    def _send(self, case: Any, who: str, headers: dict[str, str] | None, mine: Tally) -> None:
        label = case.operation.label
        errors = len(self.served.errors)
        try:
            response = case.call(
                session=self.client, app=self.served, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except requests.exceptions.Timeout:
            mine.failures.append(f"{who} {label}: no answer in {TIMEOUT_SECONDS} s")
            return
        mine.statuses[response.status_code] += 1
        if response.status_code >= 500:
            mine.server_errors[label] += 1
            # the exception, or (one the app's handler answered itself) the request id
            raised = self.served.errors[errors:] or [response.headers.get("X-Request-ID", "")]
            mine.failures.append(
                f"{who} {label} → {response.status_code} ({raised[0]}): "
                f"{case.as_curl_command(headers=headers)}"
            )
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:
            what = " | ".join(str(exc).strip().splitlines()[:3])
            mine.failures.append(f"{who} {label} → {response.status_code}: {what}")
            mine.unlike_document += 1

    def _add(self, mine: Tally) -> None:
        self.tally.statuses.update(mine.statuses)
        self.tally.server_errors.update(mine.server_errors)
        self.tally.failures.extend(mine.failures)
        self.tally.unlike_document += mine.unlike_document
        self.tally.operations |= mine.operations


def admin_headers(sessions: Callable[[], Any], user_id: int) -> dict[str, str]:
    """A fresh bearer token of the fuzzing admin (no password hashing).

    Generated requests may deactivate it, demote it or change its password (ending its
    tokens): it is put back first, so that every operation is tried with an admin's rights.
    """
    from civgrid.auth.actions import issue_token, reactivate_user, update_user
    from civgrid.auth.models import Role, ScopeKind, User

    with sessions() as db:
        user = db.get(User, user_id)
        if not user.is_active:
            reactivate_user(db, user, actor=None)
        if user.role != Role.ADMIN or [(s.kind, s.ref) for s in user.scopes] != [
            (ScopeKind.ALL, "")
        ]:
            update_user(db, user, role=Role.ADMIN, scopes=[(ScopeKind.ALL, "")], actor=None)
        token, _ = issue_token(db, user)
    return {"Authorization": f"Bearer {token}"}
