"""`make fuzz`: the long schemathesis run over the app's OpenAPI document, on a demo database.

Every operation gets up to ``FUZZ_EXAMPLES`` generated requests (default 50, valid and invalid
ones, from ``FUZZ_SEED``), anonymously and with the demo admin's bearer token: over 10,000
requests. Prints the progress per operation, then the number of requests, of server errors
(5xx, by operation) and of answers the document does not describe, and last a one-line JSON
summary; exits 1 on any 5xx or undescribed answer, or under 10,000 requests.
The suite runs a bounded version (tests/security/test_fuzz.py); both use tests/security/fuzzing.py.

    python scripts/fuzz.py            # a fresh SQLite demo in a temporary directory
    FUZZ_DATABASE_URL=postgresql+psycopg://… python scripts/fuzz.py   # an empty database to use
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.security.fuzzing import Fuzzer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("FUZZ_SEED", "18"))
MIN_REQUESTS = 10_000
ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="civgrid-fuzz-")
    url = os.environ.get("FUZZ_DATABASE_URL") or f"sqlite:///{data_dir}/fuzz.sqlite3"
    os.environ.update(CIVGRID_ENV="test", CIVGRID_DATA_DIR=data_dir, CIVGRID_DATABASE_URL=url)
    sys.path.insert(0, str(ROOT))  # tests.security.fuzzing, the runner the suite uses too
    try:
        return fuzz(url)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def fuzz(url: str) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from civgrid.auth.models import User
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import get_engine
    from civgrid.demo import load_demo
    from civgrid.web.app import create_app
    from tests.security.fuzzing import Fuzzer, Served, admin_headers, operations

    started = time.monotonic()
    upgrade(url)
    sessions = sessionmaker(bind=get_engine(), expire_on_commit=False)
    with sessions() as db:
        load_demo(db)
        admin_id = db.scalar(select(User.id).where(User.username == "admin"))
    print(f"demo loaded in {time.monotonic() - started:.0f} s", file=sys.stderr)

    app = create_app()
    found = operations(app.openapi(), app)
    fuzzer = Fuzzer(Served(app), examples=EXAMPLES, seed=SEED)
    started = time.monotonic()
    for label, operation in found.items():
        fuzzer.run(operation, "anonymous", None)
        if label != "POST /api/v1/auth/token":  # its credentials are the body's
            fuzzer.run(operation, "admin", lambda: admin_headers(sessions, admin_id))
        tally = fuzzer.tally
        print(
            f"{label}: {tally.requests} requests, "
            f"{sum(tally.server_errors.values())} server errors so far",
            file=sys.stderr,
        )
    seconds = time.monotonic() - started
    return report(fuzzer, seconds, len(found))


def report(fuzzer: Fuzzer, seconds: float, operation_count: int) -> int:
    tally = fuzzer.tally
    server_errors = sum(tally.server_errors.values())
    print(f"operations: {len(tally.operations)} of {operation_count}")
    print(f"requests: {tally.requests}")
    print(f"server errors (5xx): {server_errors}")
    for label, count in tally.server_errors.most_common():
        print(f"  {count} × {label}")
    print(f"answers unlike the document: {tally.unlike_document}")
    print("statuses: " + ", ".join(f"{s}×{n}" for s, n in sorted(tally.statuses.items())))
    print(f"time: {seconds:.0f} s")
    for line in tally.failures[:50]:
        print("  " + line)
    summary = json.loads(tally.summary())
    summary.update(examples=EXAMPLES, seed=SEED, seconds=round(seconds))
    print(json.dumps(summary, ensure_ascii=False))
    ok = not tally.failures and tally.requests >= MIN_REQUESTS
    return 0 if ok and len(tally.operations) == operation_count else 1


if __name__ == "__main__":
    sys.exit(main())
