"""Login throttling that an attacker cannot turn against the real user (issue 18, defect 5):
per (username, address) and per address, with growing delays; no per-username lock; the
same work whether or not the username exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import actions
from civgrid.auth.models import LoginFailure
from civgrid.config import get_settings
from civgrid.errors import TooManyRequests, Unauthorized
from tests.conftest import PASSWORD


def backdate(db: Session, by: timedelta) -> None:
    for row in db.scalars(select(LoginFailure)):
        row.at -= by
    db.commit()


def _fail(db: Session, username: str, ip: str, times: int = 1) -> list[str]:
    outcomes = []
    for _ in range(times):
        try:
            actions.authenticate(db, username, "wrong password", ip=ip)
        except (Unauthorized, TooManyRequests) as exc:
            outcomes.append(type(exc).__name__)
    return outcomes


def test_an_attacker_elsewhere_cannot_lock_the_real_user(db: Session, make_user) -> None:
    admin = make_user("admin", ("all", ""))
    outcomes = _fail(db, admin.username, "203.0.113.9", 8)
    assert outcomes[:5] == ["Unauthorized"] * 5 and outcomes[5:] == ["TooManyRequests"] * 3
    assert actions.authenticate(db, admin.username, PASSWORD, ip="198.51.100.7").id == admin.id


def test_delays_grow(db: Session, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    ip, waits = "203.0.113.10", []
    _fail(db, user.username, ip, get_settings().login_max_failures)
    for _ in range(3):
        with pytest.raises(TooManyRequests) as caught:
            actions.authenticate(db, user.username, "wrong password", ip=ip)
        waits.append(caught.value.retry_after)
        # the delay has passed: one more try is allowed, and fails
        backdate(db, timedelta(seconds=waits[-1]))
        assert _fail(db, user.username, ip) == ["Unauthorized"]
    assert waits[0] < waits[1] < waits[2]


def test_one_address_trying_many_usernames_is_throttled(db: Session, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    ip, limit = "203.0.113.11", get_settings().login_max_failures_per_address
    for n in range(limit):
        assert _fail(db, f"guess{n}", ip) == ["Unauthorized"]
    with pytest.raises(TooManyRequests):
        actions.authenticate(db, user.username, PASSWORD, ip=ip)
    assert actions.authenticate(db, user.username, PASSWORD, ip="203.0.113.12").id == user.id


def test_old_failures_no_longer_count(db: Session, make_user) -> None:
    user = make_user("dispatcher", ("division", "441900101"))
    _fail(db, user.username, "203.0.113.13", 6)
    window = timedelta(minutes=get_settings().login_failure_window_minutes)
    backdate(db, window)
    assert actions.authenticate(db, user.username, PASSWORD, ip="203.0.113.13").id == user.id


def test_an_unknown_username_costs_a_password_check(db: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    checked: list[str | None] = []

    def verify(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return False

    monkeypatch.setattr(actions, "verify_password", verify)
    assert _fail(db, "nobody-by-this-name", "203.0.113.14") == ["Unauthorized"]
    assert checked == [None]  # verified against the dummy hash
