"""`make fuzz`: the long schemathesis run over the app's OpenAPI document, on a demo database.

Every operation gets ``FUZZ_EXAMPLES`` generated requests (default 45), anonymously and with the
demo admin's bearer token: over 10,000 requests. Prints the number of requests, of server errors
(5xx) and of answers that the document does not describe (status or body), and exits 1 on any.
The tests run a bounded version (tests/security/test_fuzz.py).

    python scripts/fuzz.py            # a fresh SQLite demo in a temporary directory
    FUZZ_DATABASE_URL=postgresql+psycopg://… python scripts/fuzz.py   # an empty database to use
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from typing import Any

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "45"))
SEED = int(os.environ.get("FUZZ_SEED", "18"))


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="civgrid-fuzz-")
    url = os.environ.get("FUZZ_DATABASE_URL") or f"sqlite:///{data_dir}/fuzz.sqlite3"
    os.environ.update(CIVGRID_ENV="test", CIVGRID_DATA_DIR=data_dir, CIVGRID_DATABASE_URL=url)

    import requests
    import schemathesis
    from fastapi.testclient import TestClient
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.errors import FailureGroup
    from schemathesis.specs.openapi.checks import (
        response_schema_conformance,
        status_code_conformance,
    )
    from sqlalchemy.orm import Session

    from civgrid.db.migrate import upgrade
    from civgrid.db.session import get_engine
    from civgrid.demo import DEMO_PASSWORD, load_demo
    from civgrid.web.app import create_app

    upgrade(url)
    with Session(get_engine()) as db:
        load_demo(db)
    app = create_app()
    with TestClient(app) as client:
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})
        r.raise_for_status()
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    started = time.monotonic()

    def fuzz_operation(operation: Any, who: str, headers: dict[str, str] | None) -> Any:
        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            try:  # a slow operation (the demo's grid checks) is a slow answer, not an error
                response = case.call(headers=headers, timeout=120)
            except requests.exceptions.Timeout:
                failures.append(f"{who} {operation.label}: no answer in 120 s")
                return
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except FailureGroup as exc:  # what the document did not say
                first = str(exc).strip().splitlines()[0:3]
                failures.append(f"{who} {operation.label} → {response.status_code}: {first}")

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        for who, headers in (("anonymous", None), ("admin", admin)):
            fuzz_operation(operation, who, headers)()
        done = sum(statuses.values())
        print(f"{operation.label}: {done} requests so far", file=sys.stderr)

    total = sum(statuses.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"requests: {total}")
    print(f"server errors (5xx): {server_errors}")
    print(f"answers unlike the document: {len(failures)}")
    print("statuses: " + ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items())))
    print(f"time: {time.monotonic() - started:.0f} s")
    for line in failures[:50]:
        print("  " + line)
    return 1 if server_errors or failures or total < 10_000 else 0


if __name__ == "__main__":
    sys.exit(main())
