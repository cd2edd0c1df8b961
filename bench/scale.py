"""Every list page and API at province scale (issue 25), on PostgreSQL, against 16 cases.

Two databases made by ``bench/_cases.py`` (kept between runs; ``--fresh`` remakes them):
``--cases`` cases over three years in ``--grids`` grids across Dongguan's villages, and the
reference, ``--ref-cases`` (16) cases in the same grids. For each, the real app is served by
uvicorn; a dispatcher and a grid leader (scope: the whole city, 4419) log in through the login
form, the dispatcher also gets an API token; then each page is requested ``--warm`` times
(not timed) and ``--requests`` times one after the other (timed, whole response read):

- ``/desk/command``, ``/desk/map/cases.geojson`` (dispatcher);
- ``/desk/command/fragment`` twice: without ``If-None-Match`` (the lists read and rendered) and
  with the ETag of a first answer (the minute refresh when nothing changed: a 304);
- ``/desk/leader`` (leader);
- ``/board`` first page and a deep page as deep as ``--board-page`` numbered pages would be,
  reached as a visitor reaches it: by following the "older" link (``rel="next"``: numbered
  pages, then the cursor) from the first page (anonymous; the depth reached is printed);
- ``/api/v1/cases`` first page and a deep page ``--deep`` cases in (dispatcher's token): by
  ``offset``, or, when the API answers with a ``Link: <…>; rel="next"`` header, the page the
  next links reach at that depth;
- ``/open311/v2/requests.json`` over the last two years, first page and ``page=--open311-page``
  (default page size).

Reported per page: p50 and p95 on both databases and the ratio of the p50s (large / 16 cases).
Then the slowest page (p95) is requested once more in this process with every SQL statement
recorded (SQLAlchemy engine events; ``pg_stat_statements`` needs a server restart), and the
slowest statements' ``EXPLAIN (ANALYZE, BUFFERS)`` are saved to ``--explain`` (default
``var/bench/scale-explain.txt``).

    .venv/bin/python bench/scale.py --cases 1000000 [--grids 10000] [--requests 30]
    .venv/bin/python bench/scale.py --cases 10000000
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _cases  # noqa: E402
from bench._proc import serve  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OLDER = re.compile(r'<a [^>]*rel="next" href="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CIVGRID_DATABASE_URL": url,
        "CIVGRID_SWEEP_IN_PROCESS": "false",
        "CIVGRID_DATA_DIR": str(ROOT / "var" / "bench"),
    }
    return serve("civgrid.web.app:create_app", port, env)


def login(client: Any, username: str) -> None:
    """Log in through the form, as a browser does (session cookie, CSRF token)."""
    page = client.get("/login")
    token = CSRF.search(page.text)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    form = {"username": username, "password": _cases.PASSWORD, "csrf_token": token.group(1)}
    r = client.post("/login", data=form, follow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {r.status_code}")


def api_token(client: Any, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": _cases.PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class Page:
    name: str
    who: str  # "disp", "leader", "anon", "api"
    path: str  # "": found by following next links (deep_board_path, deep_api_path)
    unchanged: bool = False  # sent with the ETag of a first answer (If-None-Match)


def pages(args: argparse.Namespace) -> list[Page]:
    now = datetime.now(UTC)
    start = (now - timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    o311 = f"/open311/v2/requests.json?start_date={start}&end_date={end}"
    return [
        Page("desk_command", "disp", "/desk/command"),
        Page("desk_command_fragment", "disp", "/desk/command/fragment"),
        Page("desk_command_fragment_304", "disp", "/desk/command/fragment", unchanged=True),
        Page("desk_leader", "leader", "/desk/leader"),
        Page("desk_map_geojson", "disp", "/desk/map/cases.geojson"),
        Page("board_first", "anon", "/board"),
        Page("board_deep", "anon", ""),  # found by deep_board_path
        Page("api_cases_first", "api", f"/api/v1/cases?limit={args.api_limit}"),
        Page("api_cases_deep", "api", ""),  # found by deep_api_path
        Page("open311_first", "anon", o311),
        Page("open311_deep", "anon", f"{o311}&page={args.open311_page}"),
    ]


def deep_api_path(client: httpx.Client, headers: dict[str, str], limit: int, deep: int) -> str:
    """The API page ``deep`` cases in: by offset, or by following the next links if any."""
    first = f"/api/v1/cases?limit={limit}"
    r = client.get(first, headers=headers)
    r.raise_for_status()
    if "next" not in r.links:
        return f"/api/v1/cases?limit={limit}&offset={deep}"
    seen, path = len(r.json()), first
    while seen < deep and "next" in r.links:
        path = httpx.URL(r.links["next"]["url"]).raw_path.decode()  # path and query
        r = client.get(path, headers=headers)
        r.raise_for_status()
        seen += len(r.json())
    return path


def deep_board_path(client: httpx.Client, pages: int) -> tuple[str, int]:
    """The board page ``pages`` pages in (or the last one), by following the "older" link from
    the first page as a visitor does: its path, and how many pages in it is."""
    path, depth = "/board", 1
    while depth < pages:
        r = client.get(path)
        r.raise_for_status()
        older = OLDER.search(r.text)
        if older is None:
            break
        path, depth = html.unescape(older.group(1)), depth + 1
    return path, depth


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    status: int
    kb: float
    samples: list[float] = field(default_factory=list)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def time_page(get: Callable[[], httpx.Response], warm: int, n: int) -> Timing:
    for _ in range(warm):
        get()
    samples, last = [], None
    for _ in range(n):
        t = time.perf_counter()
        last = get()
        samples.append((time.perf_counter() - t) * 1000)
    assert last is not None
    return Timing(pct(samples, 0.5), pct(samples, 0.95), last.status_code, len(last.content) / 1024)


def measure(url: str, args: argparse.Namespace, reached: dict[str, int]) -> dict[str, Timing]:
    """Serve the app on ``url`` and time every page (``reached``: the deep board page's depth)."""
    port = _free_port()
    server = _serve(url, port)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Timing] = {}
    try:
        with (
            httpx.Client(base_url=base, timeout=120) as disp,
            httpx.Client(base_url=base, timeout=120) as leader,
            httpx.Client(base_url=base, timeout=120) as anon,
        ):
            login(disp, "bench-disp")
            login(leader, "bench-leader")
            token = api_token(anon, "bench-disp")
            clients = {"disp": disp, "leader": leader, "anon": anon, "api": anon}
            for page in pages(args):
                client = clients[page.who]
                headers = token if page.who == "api" else {}
                path = page.path
                if page.name == "board_deep":
                    path, reached["board_deep_pages"] = deep_board_path(anon, args.board_page)
                    print(f"  board_deep: {reached['board_deep_pages']} pages in", flush=True)
                elif not path:
                    path = deep_api_path(anon, token, args.api_limit, args.deep)
                if page.unchanged:
                    headers = {"If-None-Match": client.get(path).headers["etag"]}

                def get(path: str = path, client: Any = client, headers: Any = headers) -> Any:
                    return client.get(path, headers=headers)

                out[page.name] = time_page(get, args.warm, args.requests)
                t = out[page.name]
                print(
                    f"  {page.name:22} p50 {t.p50_ms:8.1f} ms  p95 {t.p95_ms:8.1f} ms"
                    f"  {t.status}  {t.kb:7.1f} KB",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def explain_slowest(url: str, page: Page, args: argparse.Namespace, out: Path) -> list[str]:
    """Request ``page`` in this process with its SQL recorded; EXPLAIN the slowest statements."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from civgrid.db.session import get_engine
    from civgrid.web.app import create_app

    _cases.use(url)
    engine = get_engine()
    recorded: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):  # type: ignore[no-untyped-def]
        conn.info["t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):  # type: ignore[no-untyped-def]
        if not many and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            recorded.append((time.perf_counter() - conn.info["t0"], statement, params))

    with TestClient(create_app()) as client:
        headers: dict[str, str] = {}
        if page.who in ("disp", "leader"):
            login(client, f"bench-{page.who}")
        elif page.who == "api":
            headers = api_token(client, "bench-disp")
        if page.name == "board_deep":
            path, _depth = deep_board_path(client, args.board_page)
        else:
            path = page.path or deep_api_path(client, headers, args.api_limit, args.deep)
        if page.unchanged:
            headers = {"If-None-Match": client.get(path).headers["etag"]}
        client.get(path, headers=headers)  # warm
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        client.get(path, headers=headers)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    slowest = sorted(recorded, key=lambda r: r[0], reverse=True)[: args.explain_top]
    lines = [
        f"# {page.name}: GET {path}",
        f"# {len(recorded)} SELECT statements, {sum(r[0] for r in recorded) * 1000:.1f} ms in all;"
        f" the {len(slowest)} slowest follow",
    ]
    with engine.connect() as conn:
        for seconds, statement, params in slowest:
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params).all()
            lines += ["", f"## {seconds * 1000:.1f} ms", statement, f"-- parameters: {params!r}"]
            lines += [row[0] for row in plan]
        conn.rollback()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return [f"{s * 1000:.1f} ms" for s, _, _ in slowest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--ref-cases", type=int, default=16)
    parser.add_argument("--db", default="civgrid_bench_scale")
    parser.add_argument("--fresh", action="store_true", help="make both databases again")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warm", type=int, default=3, help="untimed requests per page first")
    parser.add_argument(
        "--board-page", type=int, default=1000, help="board deep page: pages in (older links)"
    )
    parser.add_argument("--open311-page", type=int, default=50)
    parser.add_argument("--api-limit", type=int, default=100)
    parser.add_argument("--deep", type=int, default=100_000, help="API deep page: cases in")
    parser.add_argument("--explain-top", type=int, default=5)
    parser.add_argument("--explain", type=Path, default=ROOT / "var/bench/scale-explain.txt")
    args = parser.parse_args()
    os.environ.setdefault("CIVGRID_DATA_DIR", str(ROOT / "var" / "bench"))

    load = {"start": os.getloadavg()[0]}
    made = {}
    for key, name, cases in (
        ("ref", f"{args.db}_ref", args.ref_cases),
        ("big", args.db, args.cases),
    ):
        t = time.perf_counter()
        made[key] = _cases.ensure(name, cases, args.grids, fresh=args.fresh)
        if made[key].generated is not None:
            print(f"{name}: made in {time.perf_counter() - t:.0f} s", flush=True)
    counts = {}
    for key, m in made.items():
        from sqlalchemy import create_engine, text

        engine = create_engine(m.url)
        with engine.connect() as conn:
            counts[key] = (
                conn.scalar(text("SELECT count(*) FROM cases")),
                conn.scalar(text("SELECT count(*) FROM case_events")),
            )
        engine.dispose()
    print(f"reference: {counts['ref'][0]} cases; measured: {counts['big'][0]} cases", flush=True)
    print(f"{counts['ref'][0]} cases:", flush=True)
    reached: dict[str, dict[str, int]] = {"ref": {}, "big": {}}
    ref = measure(made["ref"].url, args, reached["ref"])
    load["ref"] = os.getloadavg()[0]
    print(f"{counts['big'][0]} cases ({counts['big'][1]} events):", flush=True)
    big = measure(made["big"].url, args, reached["big"])
    load["big"] = os.getloadavg()[0]

    slowest = max(big, key=lambda k: big[k].p95_ms)
    page = next(p for p in pages(args) if p.name == slowest)
    explained = explain_slowest(made["big"].url, page, args, args.explain)
    print(f"slowest: {slowest}; its slowest statements {explained} → {args.explain}")

    print(
        f"\n| request | {counts['ref'][0]} cases p50 | {counts['big'][0]} cases p50 / p95 | ratio |"
    )
    print("|---|---|---|---|")
    for name in big:
        r, b = ref[name], big[name]
        ratio = b.p50_ms / max(r.p50_ms, 0.01)
        print(f"| {name} | {r.p50_ms} ms | {b.p50_ms} / {b.p95_ms} ms | {ratio:.1f} |")
    result: dict[str, Any] = {
        "bench": "scale",
        "cases": counts["big"][0],
        "events": counts["big"][1],
        "ref_cases": counts["ref"][0],
        "grids": args.grids,
        "requests": args.requests,
        **{f"{n}_p50_ms": t.p50_ms for n, t in big.items()},
        **{f"{n}_p95_ms": t.p95_ms for n, t in big.items()},
        **{f"{n}_ref_p50_ms": t.p50_ms for n, t in ref.items()},
        **{f"{n}_ratio": round(big[n].p50_ms / max(ref[n].p50_ms, 0.01), 2) for n in big},
        **{f"{n}_status": t.status for n, t in big.items()},
        "board_deep_pages": reached["big"].get("board_deep_pages"),
        "board_deep_pages_ref": reached["ref"].get("board_deep_pages"),
        "max_p95_ms": big[slowest].p95_ms,
        "slowest": slowest,
        "explain": str(args.explain),
        "loadavg": load,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
