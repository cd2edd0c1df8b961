"""Read routing against a real streaming replica (CIVGRID_READ_DATABASE_URL).

A hot standby of the test server is started on this machine (``tests/db/replica.py``); the app
runs as its least-privilege role with ``CIVGRID_DATABASE_URL`` on the primary and
``CIVGRID_READ_DATABASE_URL`` on the replica, on a database of its own whose data is committed.
With the replica's replay paused, what the staff just wrote is on the staff's pages and not on
the public ones; once replayed it is on both; with the replica down the public reads fail and
the staff go on working. PostgreSQL only: SQLite has no replicas.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.db.session import get_db, get_read_engine, make_engine, read_session_factory
from tests.cases import factories
from tests.conftest import BACKEND, FIXTURES, PASSWORD, PG_SERVER, app_url
from tests.db.replica import (
    Cluster,
    Missing,
    TooBig,
    start_primary,
    start_replica,
    wait_replayed,
)

pytestmark = [
    pytest.mark.pg_only,
    pytest.mark.skipif(BACKEND != "postgresql", reason="streaming replicas are PostgreSQL's"),
]
VILLAGE = "441900101002"


@dataclass
class Servers:
    primary_url: str  # its superuser's, on the database postgres
    replica: Cluster
    own: Cluster | None  # the primary, when it is the test's own


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """The test server and a replica of it, or, when the test server holds too much to copy
    quickly, a small primary of the test's own and a replica of that."""
    own = None
    try:
        try:
            found = Servers(PG_SERVER, start_replica(PG_SERVER), None)
        except TooBig:
            own = start_primary()
            found = Servers(own.url(PG_SERVER), start_replica(own.url(PG_SERVER)), own)
    except Missing as exc:
        if own is not None:
            own.stop()
        pytest.skip(f"no streaming replica on this machine: {exc}")
    yield found
    found.replica.stop()
    if found.own is not None:
        found.own.stop()


def _create_database(server_url: str) -> tuple[str, str]:
    """A new database on the server (as its superuser); its name and its owner's URL."""
    name = f"civgrid_replica_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(server_url).set(database=name).render_as_string(False)


def _drop_database(server_url: str, name: str, role: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


@dataclass
class Site:
    """The app on its primary and its replica, and what the tests need to drive it."""

    client: TestClient
    replica: Cluster
    primary: Engine  # the app role's, as the app's own sessions
    standby: Engine  # the superuser's, on the replica: to pause and resume its replay
    role: str
    category_id: int
    lon: float
    lat: float

    def login(self) -> dict[str, str]:
        r = self.client.post(
            "/api/v1/auth/token", data={"username": "dispatcher", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def report(self, headers: dict[str, str]) -> str:
        body = {"source": "hotline", "category_id": self.category_id, "lon": self.lon}
        body |= {"lat": self.lat, "description": "路灯不亮"}
        r = self.client.post("/api/v1/cases", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["number"])

    def register(self, number: str, headers: dict[str, str]) -> None:
        r = self.client.post(f"/api/v1/cases/{number}/register", json={}, headers=headers)
        assert r.status_code == 200, r.text

    def replay(self, *, paused: bool) -> None:
        """Pause the replica's replay (what the primary writes no longer reaches it) or resume."""
        with self.standby.connect() as conn:
            conn.execute(text(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()"))
            for _ in range(500):
                state = conn.scalar(text("SELECT pg_get_wal_replay_pause_state()"))
                if (state == "paused") == paused:
                    return
                time.sleep(0.01)
        raise AssertionError(f"the replica's replay did not {'pause' if paused else 'resume'}")

    def caught_up(self) -> None:
        with self.primary.connect() as p, self.standby.connect() as r:
            wait_replayed(p, r)


def _world(owner_url: str) -> tuple[int, float, float]:
    """Divisions, a grid, a routed category and a dispatcher; their category and place."""
    from civgrid.auth.actions import create_user
    from civgrid.auth.models import Role, ScopeKind
    from civgrid.divisions.importer import import_divisions

    engine = make_engine(owner_url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            import_divisions(db, FIXTURES / "divisions", as_of=date(2023, 6, 30))
            lon, lat, _grid = factories.grid(db, VILLAGE)
            category, _major, _unlisted = factories.categories(
                db, factories.department(db, "T-CG", "城管")
            )
            scopes = [(ScopeKind.DIVISION, "441900101")]
            create_user(
                db,
                username="dispatcher",
                password=PASSWORD,
                role=Role.DISPATCHER,
                scopes=scopes,
                actor=None,
            )
            return category.id, lon, lat
    finally:
        engine.dispose()


def _reads_from(url: str) -> None:
    os.environ["CIVGRID_READ_DATABASE_URL"] = url
    for cached in (get_settings, get_read_engine, read_session_factory):
        cached.cache_clear()


def _reads_from_primary() -> None:
    engine = get_read_engine()
    if engine is not None:
        engine.dispose()
    os.environ.pop("CIVGRID_READ_DATABASE_URL", None)
    for cached in (get_settings, get_read_engine, read_session_factory):
        cached.cache_clear()


@pytest.fixture(scope="module")
def site(servers: Servers, database_url: str) -> Iterator[Site]:
    """The app as served with a replica, on a database of its own (its data is committed).

    ``database_url``: the test run's settings (a PostgreSQL primary), which this app's differ
    from only in the read URL; its requests' sessions are on this database, as the app role.
    """
    from civgrid.db.migrate import grant, upgrade
    from civgrid.web.app import create_app

    replica = servers.replica
    name, owner = _create_database(servers.primary_url)
    role = f"{name}_app"
    upgrade(owner)
    grant(owner, role)
    category_id, lon, lat = _world(owner)
    primary = make_engine(app_url(owner, role))
    standby = create_engine(replica.url(owner), isolation_level="AUTOCOMMIT")
    sessions = sessionmaker(bind=primary, expire_on_commit=False)

    def request_db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    _reads_from(replica.url(app_url(owner, role)))
    application = create_app()
    application.dependency_overrides[get_db] = request_db
    try:
        with TestClient(application, raise_server_exceptions=False) as client:
            built = Site(client, replica, primary, standby, role, category_id, lon, lat)
            built.caught_up()
            yield built
    finally:
        _reads_from_primary()
        primary.dispose()
        standby.dispose()
        _drop_database(servers.primary_url, name, role)


def _this_month() -> str:
    """The figures API's address for this month's reports in the village."""
    from civgrid.figures.periods import current, tz

    period = current("month", utcnow().astimezone(tz()).date()).label
    return f"/api/v1/figures?unit_kind=village&unit_code={VILLAGE}&period={period}&codes=reports"


def _figures(site: Site, headers: dict[str, str]) -> int:
    """This month's reports in the village, as the figures API counts them."""
    r = site.client.get(_this_month(), headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["indicators"]["reports"]["numerator"])


def _public(site: Site, number: str) -> dict[str, object]:
    """Where ``number`` shows on the public reads: the board, Open311's list and single GET."""
    listed = site.client.get("/open311/v2/requests.json")
    single = site.client.get(f"/open311/v2/requests/{number}.json")
    board = site.client.get("/board")
    assert (listed.status_code, board.status_code) == (200, 200)
    return {
        "board": number in board.text,
        "open311 list": number in [r["service_request_id"] for r in listed.json()],
        "open311 single": single.status_code,
    }


def test_public_reads_come_from_the_replica_and_staff_work_from_the_primary(site: Site) -> None:
    headers = site.login()
    before = _figures(site, headers)
    site.replay(paused=True)
    try:
        number = site.report(headers)
        site.register(number, headers)
        # the staff see their write at once: their reads are on the primary
        staff = site.client.get(f"/api/v1/cases/{number}", headers=headers)
        assert (staff.status_code, staff.json()["state"]) == (200, "registered")
        # the public reads and the figures come from the replica, which has not replayed it
        assert _public(site, number) == {
            "board": False,
            "open311 list": False,
            "open311 single": 404,
        }
        assert _figures(site, headers) == before
    finally:
        site.replay(paused=False)
    site.caught_up()
    assert _public(site, number) == {"board": True, "open311 list": True, "open311 single": 200}
    assert _figures(site, headers) == before + 1
    services = site.client.get("/open311/v2/services.json")
    assert "GT101" in [s["service_code"] for s in services.json()]


def test_the_read_session_is_on_the_replica_and_cannot_write(site: Site) -> None:
    factory = read_session_factory()
    assert factory is not None
    with factory() as db:
        where = db.execute(
            text("SELECT inet_server_port(), pg_is_in_recovery(), current_user")
        ).one()
        assert tuple(where) == (site.replica.port, True, site.role)
        with pytest.raises(DBAPIError, match="read-only transaction"):
            db.execute(text("UPDATE cases SET description = description"))
    with site.primary.connect() as conn:
        where = conn.execute(text("SELECT inet_server_port(), pg_is_in_recovery()")).one()
        assert tuple(where) == (make_url(site.primary.url).port, False)


def test_with_the_replica_down_public_reads_fail_and_staff_work_goes_on(site: Site) -> None:
    headers = site.login()
    number = site.report(headers)
    site.register(number, headers)
    site.caught_up()
    assert site.client.get(f"/open311/v2/requests/{number}.json").status_code == 200
    site.replica.pg_ctl("-m", "fast", "-w", "stop")
    try:
        for path in ("/board", "/open311/v2/requests.json", f"/open311/v2/requests/{number}.json"):
            assert site.client.get(path).status_code == 500, path
        assert site.client.get(_this_month(), headers=headers).status_code == 500
        # the staff's reads and writes never touch the replica
        assert site.client.get(f"/api/v1/cases/{number}", headers=headers).status_code == 200
        site.register(site.report(headers), headers)
    finally:
        site.replica.start()
        engine = get_read_engine()
        assert engine is not None
        for pool in (engine, site.standby):
            pool.dispose()  # their connections died with the server
    site.caught_up()
    assert site.client.get(f"/open311/v2/requests/{number}.json").status_code == 200
