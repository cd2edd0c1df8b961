"""A mixed load on a served civgrid demo: reports from every channel, dispatches, page reads.

Used by ``bench/embedded.py`` and by the suite's ``tests/db/test_mixed_load.py``: threads,
each with its own HTTP client, repeat one kind of step for a bounded time. The steps:

- API report: ``POST /api/v1/cases`` (the demo dispatcher's bearer token);
- portal form report: ``GET /portal/report`` for the CSRF token, then the form ``POST``;
- Open311 report: ``POST /open311/v2/requests.json`` with an API key;
- dispatch: an API report, then ``register`` and ``dispatch`` on it;
- page reads: ``/board``, ``/portal``, ``/directory``, Open311 ``requests.json`` in turn, each
  followed by ``GET /api/v1/cases``.

Every case a client was told about (its number) is kept, to check afterwards.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
# One thread each, in this order, for 8 threads (the first N for fewer).
MIX = ("api", "api", "portal", "open311", "dispatch", "pages", "pages", "pages")


@dataclass(frozen=True)
class Target:
    """A served demo and what the steps need: a category, points, an API key, a token."""

    base: str
    category_id: int
    service_code: str
    points: list[tuple[float, float]]
    api_key: str
    bearer: dict[str, str]


def target(base: str, db: Session) -> Target:
    """Issue an Open311 key in ``db`` (the served database) and log the dispatcher in."""
    from civgrid.cases.demo import demo_points, demo_report_target
    from civgrid.catalogue.models import Category
    from civgrid.open311.actions import issue_client

    category_id, _lon, _lat = demo_report_target(db)
    category = db.get(Category, category_id)
    assert category is not None
    _client, key = issue_client(db, name=f"mixed load {time.time_ns()}", actor=None)
    r = httpx.post(
        base + "/api/v1/auth/token", data={"username": "dispatcher", "password": "civgrid-demo"}
    )
    r.raise_for_status()
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return Target(base, category_id, category.code, demo_points(db, 16), key, bearer)


@dataclass
class Outcome:
    """What the threads did."""

    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # of every request answered
    errors: list[str] = field(default_factory=list)  # wrong status, timeout, connection error
    numbers: list[str] = field(default_factory=list)  # cases acknowledged to a client

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


class MixedLoad:
    """Drive ``target`` with ``threads`` threads (kinds from ``MIX``) for ``seconds``."""

    def __init__(self, t: Target, *, timeout_s: float = 20.0) -> None:
        self.t = t
        self.timeout_s = timeout_s
        self.out = Outcome()
        self._lock = threading.Lock()
        self._points = itertools.cycle(t.points)

    def run(self, seconds: float, threads: int = 8) -> Outcome:
        steps: dict[str, Callable[[httpx.Client, int], None]] = {
            "api": self.api_report,
            "portal": self.portal_report,
            "open311": self.open311_report,
            "dispatch": self.dispatch,
            "pages": self.read_pages,
        }
        kinds = [MIX[i % len(MIX)] for i in range(threads)]
        start = time.monotonic()
        until = start + seconds

        def run(step: Callable[[httpx.Client, int], None]) -> None:
            with httpx.Client() as http:
                for i in itertools.count():
                    if time.monotonic() > until:
                        return
                    step(http, i)

        workers = [threading.Thread(target=run, args=(steps[k],)) for k in kinds]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=seconds + 3 * self.timeout_s)
            if w.is_alive():
                self.out.errors.append("a thread did not finish")
        self.out.seconds = time.monotonic() - start
        return self.out

    # --- one request --------------------------------------------------------------------------

    def _point(self) -> tuple[float, float]:
        with self._lock:
            return next(self._points)

    def _call(
        self, http: httpx.Client, method: str, path: str, ok: int, **kw: object
    ) -> httpx.Response | None:
        began = time.perf_counter()
        try:
            r = http.request(method, self.t.base + path, timeout=self.timeout_s, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            with self._lock:
                self.out.errors.append(f"{method} {path}: {exc!r}")
            return None
        took = (time.perf_counter() - began) * 1000
        with self._lock:
            self.out.latencies_ms.append(took)
            if r.status_code != ok:
                self.out.errors.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
                return None
        return r

    def _acknowledged(self, number: str) -> None:
        with self._lock:
            self.out.numbers.append(number)

    # --- the steps ----------------------------------------------------------------------------

    def _api_case(self, http: httpx.Client, description: str) -> str | None:
        lon, lat = self._point()
        body = {
            "source": "hotline",
            "category_id": self.t.category_id,
            "lon": lon,
            "lat": lat,
            "description": description,
        }
        r = self._call(http, "POST", "/api/v1/cases", 201, json=body, headers=self.t.bearer)
        if r is None:
            return None
        number = str(r.json()["number"])
        self._acknowledged(number)
        return number

    def api_report(self, http: httpx.Client, i: int) -> None:
        self._api_case(http, f"api report {i}")

    def portal_report(self, http: httpx.Client, i: int) -> None:
        page = self._call(http, "GET", "/portal/report", 200)
        found = CSRF_META.search(page.text) if page is not None else None
        if found is None:
            return
        lon, lat = self._point()
        form = {
            "csrf_token": found.group(1),
            "category_id": str(self.t.category_id),
            "lon": str(lon),
            "lat": str(lat),
            "description": f"portal report {i}",
        }
        r = self._call(http, "POST", "/portal/report", 303, data=form, follow_redirects=False)
        if r is not None:
            self._acknowledged(r.headers["location"].rsplit("/", 1)[1])

    def open311_report(self, http: httpx.Client, i: int) -> None:
        lon, lat = self._point()
        form = {
            "api_key": self.t.api_key,
            "service_code": self.t.service_code,
            "lat": str(lat),
            "long": str(lon),
            "description": f"open311 report {i}",
        }
        r = self._call(http, "POST", "/open311/v2/requests.json", 200, data=form)
        if r is not None:
            self._acknowledged(str(r.json()[0]["service_request_id"]))

    def dispatch(self, http: httpx.Client, i: int) -> None:
        number = self._api_case(http, f"to dispatch {i}")
        for action in ("register", "dispatch"):
            if number is None:
                return
            path = f"/api/v1/cases/{number}/{action}"
            if self._call(http, "POST", path, 200, json={}, headers=self.t.bearer) is None:
                return

    def read_pages(self, http: httpx.Client, i: int) -> None:
        path = ("/board", "/portal", "/directory", "/open311/v2/requests.json")[i % 4]
        self._call(http, "GET", path, 200)
        self._call(http, "GET", "/api/v1/cases?limit=50", 200, headers=self.t.bearer)
