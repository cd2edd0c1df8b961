"""The command center's minute refresh: every change the lists could show is sent, the lights
turning with time included; nothing changed is a 304 from one aggregate, no list read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civgrid.cases import actions
from civgrid.cases.models import Case
from civgrid.db.base import utcnow
from civgrid.desk import freshness, routes, service
from tests.desk.conftest import World, count_statements

Refresh = Callable[[], httpx.Response]


class Clock:
    """The desk's ``now``, moved by the test (the actions keep the real time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = utcnow() + 2 * freshness.SETTLE  # every change so far has settled
        monkeypatch.setattr(routes, "utcnow", lambda: self.now)
        monkeypatch.setattr(service, "utcnow", lambda: self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def refresh(client: TestClient) -> Refresh:
    """GET the fragment with the ETag of the last full answer; remembers the new one."""
    tags: list[str] = []

    def get() -> httpx.Response:
        headers = {"If-None-Match": tags[-1]} if tags else {}
        r = client.get("/desk/command/fragment", headers=headers)
        if r.status_code == 200:
            tags.append(r.headers["etag"])
        return r

    return get


def light_of(html: str, case: Case) -> str:
    """The colour of the light shown before the case's number, on its first list."""
    before = html[: html.index(case.number)]
    return before[before.rindex('class="light ') :].split('"')[1].split()[1]


def test_every_change_in_scope_is_sent_and_nothing_else(
    world: World, client: TestClient, as_user, clock: Clock, refresh: Refresh
) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    as_user(world.dispatcher)
    assert refresh().status_code == 200
    assert refresh().status_code == 304

    new = world.report()  # a new case
    sent = refresh()
    assert sent.status_code == 200 and new.number in sent.text
    assert refresh().status_code == 304

    world.drive(case, "register")  # an open case changes state
    assert refresh().status_code == 200
    assert refresh().status_code == 304

    world.drive(case, "dispatch", "accept", "handle", "verify", "close")  # closed
    sent = refresh()
    assert sent.status_code == 200 and case.number not in sent.text
    assert refresh().status_code == 304


def test_a_light_turning_with_time_is_sent(
    world: World, client: TestClient, as_user, clock: Clock, refresh: Refresh
) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    assert case.yellow_at and case.due_at
    as_user(world.dispatcher)
    clock.now = case.yellow_at - timedelta(minutes=1)
    assert light_of(refresh().text, case) == "green"
    assert refresh().status_code == 304
    clock.now = case.yellow_at + timedelta(seconds=1)
    sent = refresh()
    assert sent.status_code == 200 and light_of(sent.text, case) == "yellow"
    assert refresh().status_code == 304
    clock.now = case.due_at + timedelta(seconds=1)
    sent = refresh()
    assert sent.status_code == 200 and light_of(sent.text, case) == "red"
    clock.now += timedelta(days=30)  # red stays red: nothing to send
    assert refresh().status_code == 304


def test_a_case_leaving_a_departments_scope_is_sent(
    world: World, client: TestClient, as_user, make_user, clock: Clock, refresh: Refresh
) -> None:  # type: ignore[no-untyped-def]
    """A department's scope loses the cases dispatched elsewhere, which the newest change in
    scope need not show: with departments the tag counts the open cases in scope."""
    chief = make_user("duty_chief", ("department", world.dept.code))
    leaving = world.drive(world.report(), "register", "dispatch")
    actions.return_case(world.db, leaving, actor=world.handler, reason="not ours")
    staying = world.drive(world.report(), "register", "dispatch", "accept")  # changed last
    clock.now += timedelta(days=365)  # every deadline passed: only the changes tell
    as_user(chief)
    sent = refresh()
    assert sent.status_code == 200 and leaving.number in sent.text
    assert refresh().status_code == 304
    actions.dispatch_case(world.db, leaving, actor=world.dispatcher, department=world.dept2)
    sent = refresh()
    assert sent.status_code == 200
    assert leaving.number not in sent.text and staying.number in sent.text
    assert refresh().status_code == 304


def test_a_change_outside_the_scope_does_not_matter(
    world: World, client: TestClient, as_user, clock: Clock, refresh: Refresh
) -> None:  # type: ignore[no-untyped-def]
    as_user(world.outsider)  # a dispatcher of another village
    assert refresh().status_code == 200
    case = world.report()
    world.drive(case, "register")
    assert refresh().status_code == 304


def test_a_recent_change_is_sent_again_once_it_has_settled(
    world: World, client: TestClient, as_user, clock: Clock, refresh: Refresh
) -> None:  # type: ignore[no-untyped-def]
    """An action stamps ``updated_at`` before it commits, so a change seen while younger than
    SETTLE may hide one committed after it: the first refresh after SETTLE answers in full."""
    world.report()
    clock.now = utcnow()
    as_user(world.dispatcher)
    assert refresh().status_code == 200
    assert refresh().status_code == 304
    clock.now += freshness.SETTLE + timedelta(seconds=1)
    assert refresh().status_code == 200
    assert refresh().status_code == 304


def test_nothing_changed_is_one_statement_on_cases(
    world: World, client: TestClient, as_user, db: Session, clock: Clock, refresh: Refresh
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        world.drive(world.report(), "register")
    as_user(world.dispatcher)
    with count_statements(db) as full:
        assert refresh().status_code == 200
    with count_statements(db) as unchanged:
        assert refresh().status_code == 304
    selects = [s[:40] for s in unchanged if s.lstrip().startswith("SELECT")]
    on_cases = [s for s in unchanged if "FROM cases" in s]
    assert len(on_cases) == 1 and "max(cases.updated_at)" in on_cases[0]
    assert "count(*)" not in on_cases[0]  # a territorial scope counts nothing
    assert len(selects) <= 4, selects  # the login session, the user, its scopes, the tag
    assert len(full) > len(unchanged) + 7  # seven lists


def test_the_tag_depends_on_the_language(
    world: World, client: TestClient, as_user, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    world.report()
    as_user(world.dispatcher)
    zh = client.get("/desk/command/fragment", headers={"Accept-Language": "zh-CN"})
    en = client.get(
        "/desk/command/fragment",
        headers={"Accept-Language": "en", "If-None-Match": zh.headers["etag"]},
    )
    assert en.status_code == 200 and en.headers["etag"] != zh.headers["etag"]
