"""Where a server process spends its time per intake: one process, no HTTP server, no wrk.

Drives the real app's ASGI callable directly (no uvicorn, no sockets) with the bodies of
``bench/intake.py``, ``--concurrency`` requests in flight, on a fresh PostgreSQL database with
the demo township, then reports one of:

- ``cpu``: this process's CPU time per request (the app's part of a server's CPU: no HTTP
  parsing);
- ``calls`` (default): Python function calls (and calls into C) per request, counted with
  ``sys.setprofile`` on the event loop and every worker thread: a measure of the work per
  request that the machine's load does not change;
- ``cprofile``: the top functions by own time (``--sort``, ``--top``), on the CPU time of the
  event loop's thread; ``--callers`` names functions whose callers to list;
- ``pyinstrument``: a call tree, if pyinstrument is importable (not a dependency).

Run: ``.venv/bin/python bench/_intake_profile.py [--endpoint api|open311] [--mode calls]``.
A tool for finding costs, not a benchmark: it prints no ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.intake import _create_db, _drop_db, _prepare  # noqa: E402

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _call(
    app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """One POST through the ASGI app: its status and body."""
    length = (b"content-length", str(len(body)).encode())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), length, *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client never goes away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _drive(
    app: Any, path: str, bodies: list[bytes], headers: list[tuple[bytes, bytes]], n: int, c: int
) -> Counter[int]:
    statuses: Counter[int] = Counter()
    todo = iter(range(n))

    async def worker() -> None:
        for i in todo:
            status, _ = await _call(app, path, bodies[i % len(bodies)], headers)
            statuses[status] += 1

    await asyncio.gather(*(worker() for _ in range(c)))
    return statuses


class _Calls:
    """Counts Python calls and calls into C, on every thread, while on."""

    def __init__(self) -> None:
        self.python = 0
        self.c = 0
        self.lock = threading.Lock()

    def __call__(self, _frame: Any, event: str, _arg: Any) -> None:
        if event == "call":
            self.python += 1
        elif event == "c_call":
            self.c += 1

    def on(self) -> None:
        sys.setprofile(self)
        threading.setprofile(self)

    def off(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


async def _main(args: argparse.Namespace) -> None:
    name, url = _create_db()
    try:
        bodies, forms = _prepare(url, args.points)
        os.environ.update(
            CIVGRID_DATABASE_URL=url,
            CIVGRID_SWEEP_IN_PROCESS="false",
            CIVGRID_DATA_DIR=str(Path(__file__).resolve().parent.parent / "var" / "bench"),
        )
        from civgrid.config import get_settings
        from civgrid.web.app import create_app

        get_settings.cache_clear()
        app = create_app()
        async with app.router.lifespan_context(app):
            login = b"username=dispatcher&password=civgrid-demo"
            form_type = (b"content-type", b"application/x-www-form-urlencoded")
            _, answer = await _call(app, "/api/v1/auth/token", login, [form_type])
            token = json.loads(answer)["access_token"]
            if args.endpoint == "api":
                path = "/api/v1/cases"
                payload = [json.dumps(b).encode() for b in bodies]
                headers = [
                    (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {token}".encode()),
                ]
            else:
                path = "/open311/v2/requests.json"
                payload = [f.encode() for f in forms]
                headers = [form_type]
            warm = await _drive(app, path, payload, headers, args.warmup, args.concurrency)
            if set(warm) != {201} and set(warm) != {200}:
                raise SystemExit(f"warm-up answered {dict(warm)}")
            if args.mode == "cpu":
                start = time.process_time()
                statuses = await _drive(app, path, payload, headers, args.n, args.concurrency)
                n = sum(statuses.values())
                used = (time.process_time() - start) / n * 1000
                print(f"{args.endpoint}: {n} requests {dict(statuses)}; {used:.3f} ms CPU each")
            elif args.mode == "calls":
                calls = _Calls()
                calls.on()
                statuses = await _drive(app, path, payload, headers, args.n, args.concurrency)
                calls.off()
                n = sum(statuses.values())
                print(
                    f"{args.endpoint}: {n} requests {dict(statuses)}; per request "
                    f"{calls.python / n:.0f} Python calls, {calls.c / n:.0f} calls into C"
                )
            elif args.mode == "pyinstrument":  # a call tree, on the wall clock (not a dependency)
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002, async_mode="disabled")
                profiler.start()
                statuses = await _drive(app, path, payload, headers, args.n, args.concurrency)
                profiler.stop()
                print(f"{args.endpoint}: {dict(statuses)}")
                print(profiler.output_text(unicode=True, show_all=False))
            else:
                # CPU time of the event loop's thread: a wall clock would charge this process
                # with the time the machine gives to others (PostgreSQL's backend preempts the
                # sender of its query on a busy machine).
                prof = cProfile.Profile(time.thread_time)
                prof.enable()
                statuses = await _drive(app, path, payload, headers, args.n, args.concurrency)
                prof.disable()
                print(f"{args.endpoint}: {dict(statuses)}")
                stats = pstats.Stats(prof)
                stats.sort_stats(args.sort).print_stats(args.top)
                if args.callers:
                    stats.print_callers(args.callers)
    finally:
        _drop_db(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", choices=("api", "open311"), default="api")
    modes = ("cpu", "calls", "cprofile", "pyinstrument")
    parser.add_argument("--mode", choices=modes, default="calls")
    parser.add_argument("-n", type=int, default=2000, help="requests measured")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--callers", default="", help="also print the callers of these functions")
    args = parser.parse_args()
    import uvloop

    uvloop.run(_main(args))


if __name__ == "__main__":
    main()
