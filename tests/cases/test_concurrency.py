"""Two dispatchers act on one case at the same moment: exactly one wins, the other gets 409.

Runs on its own committed database (the rolled-back ``db`` fixture cannot show concurrency):
1,000 tries on PostgreSQL, 100 on SQLite (which has one writer at a time anyway).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from civgrid.auth.actions import create_user
from civgrid.auth.models import Role, ScopeKind
from civgrid.cases import actions
from civgrid.cases.models import Case, CaseSource
from civgrid.db.base import utcnow
from civgrid.db.migrate import upgrade
from civgrid.db.session import make_engine
from civgrid.divisions.importer import import_divisions
from civgrid.errors import Conflict
from tests.cases import factories
from tests.cases.conftest import VILLAGE
from tests.conftest import BACKEND, FIXTURES, _create_pg_database, _drop_pg_database

TRIES = 1000 if BACKEND == "postgresql" else 100


@pytest.fixture
def committed(tmp_path: Path, engine: Engine) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if BACKEND == "postgresql":
        name, url = _create_pg_database()
    else:
        name, url = "", f"sqlite:///{tmp_path / 'race.sqlite3'}"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()
    if name:
        _drop_pg_database(name)


def test_two_dispatchers_at_once_exactly_one_wins(committed: Engine) -> None:
    factory = sessionmaker(bind=committed, expire_on_commit=False)
    with factory() as db:
        import_divisions(db, FIXTURES / "divisions", as_of=date(2023, 6, 30))
        lon, lat, _grid = factories.grid(db, VILLAGE)
        dept = factories.department(db, "R-CG", "城管")
        dept2 = factories.department(db, "R-HW", "环卫")
        category, _major, _unlisted = factories.categories(db, dept)
        staff = [
            create_user(
                db,
                username=f"disp{i}",
                password="long-enough-1",
                role=Role.DISPATCHER,
                scopes=[(ScopeKind.DIVISION, "441900101")],
                actor=None,
            )
            for i in (1, 2)
        ]
        ids = []
        for _ in range(TRIES):
            case = actions.report_case(
                db,
                source=CaseSource.HOTLINE,
                category=category,
                lon=lon,
                lat=lat,
                description="race",
                actor=staff[0],
            ).case
            actions.register_case(db, case, actor=staff[0])
            ids.append(case.id)
        user_ids = [u.id for u in staff]

    outcomes: list[list[str]] = []
    for case_id in ids:
        barrier = threading.Barrier(2)
        results: list[str] = []

        def act(
            user_id: int,
            department: str,
            case_id: int = case_id,
            barrier: threading.Barrier = barrier,
            results: list[str] = results,
        ) -> None:
            with factory() as db:
                from civgrid.auth.models import User

                user = db.get(User, user_id)
                case = db.get(Case, case_id)
                assert user is not None and case is not None
                db.commit()  # end the read transaction: both now race from the same state
                barrier.wait()
                try:
                    actions.dispatch_case(db, case, actor=user, department=department)
                    results.append("ok")
                except Conflict as exc:
                    assert exc.status_code == 409
                    results.append("409")

        threads = [
            threading.Thread(target=act, args=(user_ids[0], dept.code)),
            threading.Thread(target=act, args=(user_ids[1], dept2.code)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        outcomes.append(sorted(results))

    assert all(o == ["409", "ok"] for o in outcomes), [o for o in outcomes if o != ["409", "ok"]][
        :5
    ]
    with factory() as db:
        for case_id in ids[:20]:
            case = db.get(Case, case_id)
            assert case is not None and case.state.value == "dispatched"
            dispatches = [e for e in case_events(db, case_id) if e == "dispatch"]
            assert len(dispatches) == 1


def case_events(db: Session, case_id: int) -> list[str]:
    from sqlalchemy import select

    from civgrid.cases.models import CaseEvent

    return [
        e.action.value for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))
    ]


def test_concurrent_reports_get_unique_consecutive_numbers(committed: Engine) -> None:
    """Reports filed at the same moment from many threads: every number once, none skipped."""
    factory = sessionmaker(bind=committed, expire_on_commit=False)
    with factory() as db:
        import_divisions(db, FIXTURES / "divisions", as_of=date(2023, 6, 30))
        lon, lat, _grid = factories.grid(db, VILLAGE)
        category, _major, _unlisted = factories.categories(
            db, factories.department(db, "R-CG", "城管")
        )
        user = create_user(
            db,
            username="reporter",
            password="long-enough-1",
            role=Role.DISPATCHER,
            scopes=[(ScopeKind.DIVISION, "441900101")],
            actor=None,
        )
        category_id, user_id = category.id, user.id
    threads, per_thread = 8, 25 if BACKEND == "postgresql" else 5
    barrier = threading.Barrier(threads)
    now = utcnow()  # one day's counter, even when the test runs across midnight
    numbers: list[str] = []
    failures: list[BaseException] = []

    def report() -> None:
        from civgrid.auth.models import User

        with factory() as db:
            actor = db.get(User, user_id)
            db.commit()
            barrier.wait()
            for _ in range(per_thread):
                try:
                    case = actions.report_case(
                        db,
                        source=CaseSource.HOTLINE,
                        category=category_id,
                        lon=lon,
                        lat=lat,
                        description="at the same moment",
                        actor=actor,
                        now=now,
                    ).case
                    numbers.append(case.number)
                except BaseException as exc:  # noqa: BLE001  (reported by the assert below)
                    failures.append(exc)

    workers = [threading.Thread(target=report) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert failures == []
    sequences = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequences == list(range(1, threads * per_thread + 1))
    assert len({n.rsplit("-", 1)[0] for n in numbers}) == 1
