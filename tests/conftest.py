"""Test harness: one database per run (SQLite file or a fresh PostgreSQL database), built by the
Alembic migrations; every test runs inside a transaction that is rolled back.

Select the backend with CIVGRID_TEST_BACKEND=sqlite (default) or postgresql;
CIVGRID_TEST_PG_URL points at the server (default: postgres on 127.0.0.1:5432).

On PostgreSQL the test database is migrated as its owner (the server's user) and the app runs
as a role of its own that owns nothing (``civgrid db grant``), as in production: ``OWNER_URL``
holds the owner's URL, ``CIVGRID_DATABASE_URL`` the app role's.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

FIXTURES = Path(__file__).parent / "fixtures"
BACKEND = os.environ.get("CIVGRID_TEST_BACKEND", "sqlite")
PG_SERVER = os.environ.get(
    "CIVGRID_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct horse battery"
# The test database's owner URL (PostgreSQL; the same as the app's URL on SQLite).
OWNER_URL: dict[str, str] = {}


# The password hasher of the tests: argon2id at its cheapest. The product's (argon2's defaults:
# 3 passes over 64 MiB on 4 lanes, about 0.2 s of CPU a hash) made half the suite's CPU time, as
# every test's users were hashed and logged in again. The format and the checks are unchanged;
# tests/auth/test_login.py checks that the product keeps its strong parameters (PRODUCT_HASHER).
PRODUCT_HASHER: dict[str, Any] = {}


def _cheap_password_hashing() -> None:
    from argon2 import PasswordHasher

    from civgrid.auth import security

    PRODUCT_HASHER.setdefault("hasher", security._hasher)
    security._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    security._DUMMY_HASH = security._hasher.hash("civgrid-dummy-password")


def pytest_configure(config: pytest.Config) -> None:
    _cheap_password_hashing()


# Tests that use no database (neither ``engine`` nor ``database_url``, nor a database of their own
# through this module's helpers) do the same on either backend: the PostgreSQL run leaves them to
# the SQLite run.
_OWN_DATABASE = ("BACKEND", "_create_pg_database", "OWNER_URL", "demo_database")


def _uses_a_database(item: pytest.Item) -> bool:
    if {"engine", "database_url"} & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return module is None or any(name in vars(module) for name in _OWN_DATABASE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "postgresql":
        return
    kept = [item for item in items if _uses_a_database(item)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if not _uses_a_database(i)])
        items[:] = kept


def _create_pg_database(*, template: str = "") -> tuple[str, str]:
    name = f"civgrid_test_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    return name, PG_SERVER.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(name: str, *, role: str = "") -> None:
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if role:  # its grants went with the database
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


def app_url(owner_url: str, role: str) -> str:
    """The URL of ``owner_url``'s database as ``role`` (trust auth: no password)."""
    from sqlalchemy.engine import make_url

    return make_url(owner_url).set(username=role, password=None).render_as_string(False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("civgrid-data")
    os.environ["CIVGRID_ENV"] = "test"
    os.environ["CIVGRID_DATA_DIR"] = str(data_dir)
    role = ""
    if BACKEND == "postgresql":
        name, owner = _create_pg_database()
        role = f"{name}_app"
        url = app_url(owner, role)
    else:
        name, url = "", f"sqlite:///{data_dir / 'test.sqlite3'}"
        owner = url
    OWNER_URL["url"] = owner
    os.environ["CIVGRID_DATABASE_URL"] = url
    from civgrid.config import get_settings
    from civgrid.db.session import get_engine, session_factory

    for cached in (get_settings, get_engine, session_factory):
        cached.cache_clear()
    yield url
    get_engine().dispose()
    if name:
        _drop_pg_database(name, role=role)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated database with the shared base data (test divisions).

    Migrated as the owner; on PostgreSQL the app's role (``database_url``) then gets its grants.
    """
    from sqlalchemy.engine import make_url

    from civgrid.db.migrate import grant, upgrade
    from civgrid.db.session import get_engine
    from civgrid.divisions.importer import import_divisions

    upgrade(OWNER_URL["url"])
    if BACKEND == "postgresql":
        grant(OWNER_URL["url"], str(make_url(database_url).username))
    eng = get_engine()
    with Session(eng) as db:
        import_divisions(db, FIXTURES / "divisions", as_of=date(2023, 6, 30))
    yield eng


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, even when actions commit."""
    from civgrid.db.cache import clear_all

    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()
        clear_all()  # what the sessions committed into ``outer`` is gone; so are the caches


@pytest.fixture
def app(db: Session):  # type: ignore[no-untyped-def]
    from civgrid.db.session import get_db
    from civgrid.web.app import create_app

    application = create_app()
    application.dependency_overrides[get_db] = lambda: db
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def make_user(db: Session):  # type: ignore[no-untyped-def]
    """Create a user through the real action: make_user(role, ("division", "441900101"), …)."""
    from civgrid.auth.actions import create_user
    from civgrid.auth.models import Role, ScopeKind

    counter = iter(range(1, 10_000))

    def make(role: str, *scopes: tuple[str, str], username: str | None = None):  # type: ignore[no-untyped-def]
        name = username or f"{role}{next(counter)}"
        return create_user(
            db,
            username=name,
            password=PASSWORD,
            role=Role(role),
            scopes=[(ScopeKind(k), r) for k, r in scopes],
            actor=None,
        )

    return make


@pytest.fixture
def bearer(client: TestClient):  # type: ignore[no-untyped-def]
    """bearer(user) → headers with a fresh API token for that user."""

    def headers(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
        r = client.post(
            "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return headers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(engine: Engine) -> Iterator[str]:
    """The real app served by uvicorn over real HTTP, on the test database (data is committed)."""
    import uvicorn

    from civgrid.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


@contextmanager
def serve(sessions: sessionmaker[Session]) -> Iterator[str]:
    """The app served by uvicorn on a thread, its requests' sessions from ``sessions``."""
    import uvicorn

    from civgrid.db.session import get_db
    from civgrid.web.app import create_app

    def request_db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    application = create_app()
    application.dependency_overrides[get_db] = request_db
    application.state.session_factory = sessions
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@dataclass(frozen=True)
class DemoSite:
    """The served demo: its address, and sessions on its database."""

    base: str
    sessions: sessionmaker[Session]


@pytest.fixture(scope="session")
def demo_server(demo_site: DemoSite) -> str:
    """The address of ``demo_site``'s server."""
    return demo_site.base


def _run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of the whole run: shared by the xdist workers (each has a subfolder)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _run_lock(root: Path) -> Iterator[None]:
    with open(root / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def demo_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A new database holding the full demo: (its PostgreSQL name or "", its URL).

    ``load_demo`` runs once per test run (about 20 s of CPU), by whichever worker asks first,
    into a template; each caller gets a copy (SQLite: the file; PostgreSQL: ``CREATE DATABASE …
    TEMPLATE``) and the demo's stored photos in its own data folder. ``pytest_sessionfinish``
    drops the template. tests/cases/test_demo.py runs ``load_demo`` itself.
    """
    from civgrid.config import get_settings

    root = _run_root(tmp_path_factory)
    made = root / "demo-template.json"
    with _run_lock(root):
        if not made.exists():
            made.write_text(json.dumps(_make_demo_template(root)))
        template = json.loads(made.read_text())
        if BACKEND == "postgresql":
            name, url = _create_pg_database(template=template["name"])
        else:
            name, url = "", f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
            shutil.copyfile(template["file"], url.removeprefix("sqlite:///"))
    shutil.copytree(template["photos"], get_settings().attachments_path, dirs_exist_ok=True)
    return name, url


def _make_demo_template(root: Path) -> dict[str, str]:
    from civgrid.config import get_settings
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import make_engine
    from civgrid.demo import load_demo

    if BACKEND == "postgresql":
        name, url = _create_pg_database()
        name_or_file = {"name": name}
    else:
        file = root / "demo-template.sqlite3"
        url = f"sqlite:///{file}"
        name_or_file = {"file": str(file)}
    upgrade(url)
    eng = make_engine(url)
    with Session(eng, expire_on_commit=False) as db:
        load_demo(db)
    if BACKEND != "postgresql":
        with eng.connect() as conn:  # everything into the file that is copied
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()  # no connection left: a template must have none; SQLite's WAL is checkpointed
    photos = root / "demo-photos"
    shutil.copytree(get_settings().attachments_path, photos, dirs_exist_ok=True)
    return {**name_or_file, "photos": str(photos)}


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's end (the xdist controller, or the only process): drop the demo's template."""
    if hasattr(session.config, "workerinput"):
        return
    made = session.config._tmp_path_factory.getbasetemp() / "demo-template.json"  # type: ignore[attr-defined]
    if made.exists() and "name" in (template := json.loads(made.read_text())):
        _drop_pg_database(template["name"])


@pytest.fixture
def demo_db(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A session on a copy of the full demo of its own (``demo_database``), dropped afterwards."""
    from civgrid.db.cache import clear_all
    from civgrid.db.session import make_engine

    name, url = demo_database(tmp_path_factory)
    demo_engine = make_engine(url)
    clear_all()
    try:
        with Session(demo_engine, expire_on_commit=False) as session:
            yield session
    finally:
        clear_all()  # what the caches read from the copy is gone with it
        demo_engine.dispose()
        if name:
            _drop_pg_database(name)


@pytest.fixture(scope="session")
def demo_site(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """A real uvicorn server over a separate database holding the full demo (``demo_database``).

    Browser tests use it: their data is committed, so it must not leak into the rolled-back
    tests that share ``engine``. Its sessions are bound to its engine, as when serving for
    real (on PostgreSQL, case intake then writes on the app's asynchronous pool).
    """
    from civgrid.db.session import make_engine

    name, url = demo_database(tmp_path_factory)
    demo_engine = make_engine(url)
    factory = sessionmaker(bind=demo_engine, expire_on_commit=False)
    with serve(factory) as base:
        yield DemoSite(base, factory)
    demo_engine.dispose()
    if name:
        _drop_pg_database(name)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (it cannot download its own browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield _TestBrowser(b)
        b.close()


class _TestBrowser:
    """Playwright's browser whose pages bypass the site's Content-Security-Policy by default.

    ``page.wait_for_function("…")`` evaluates a string, which the policy's script-src (no
    'unsafe-eval') refuses. The policy's own browser test passes ``bypass_csp=False``.
    """

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options: Any) -> Any:
        return self._browser.new_context(**{"bypass_csp": True, **options})

    def new_page(self, **options: Any) -> Any:
        return self._browser.new_page(**{"bypass_csp": True, **options})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """screenshot(page, "name") saves test-artifacts/<backend>/<test>-<name>.png."""

    def take(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        folder = ARTIFACTS / BACKEND
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
