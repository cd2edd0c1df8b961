"""The set-based SQL rebuild writes exactly the figure_counts rows of the Python one
(``case_facts`` per case), on realistic bulk histories and on every branch of the actions."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from civgrid.cases import actions, history
from civgrid.cases.history import Cast
from civgrid.cases.models import Case, CaseSummons
from civgrid.db.base import acting_at
from civgrid.figures import actions as figures
from civgrid.figures.models import FigureCount
from tests.cases.conftest import png_bytes
from tests.figures.conftest import World, local

PHOTO = png_bytes((30, 90, 160))
NOW = local("2026-12-20 09:00")
# Every part of case_facts and _clock_facts (close_h<N> stands for the histogram's parts).
PARTS = {
    "reported", "valid", "registered", "registered_on_time", "voided", "dispatched",
    "dispatched_on_time", "reworked", "should_close", "closed", "closed_on_time", "closed_low",
    "close_h", "rated", "satisfied", "should_handle", "handled_on_time", "should_verify",
    "verified_on_time", "overdue", "summoned", "summons_on_time",
}  # fmt: skip


def counts(world: World) -> list[tuple[Any, ...]]:
    rows = world.db.execute(
        select(
            FigureCount.day,
            FigureCount.territory_code,
            FigureCount.department_code,
            FigureCount.category_id,
            FigureCount.worker_id,
            FigureCount.part,
            FigureCount.n,
        ).order_by(*FigureCount.__table__.primary_key.columns)
    )
    return [tuple(r) for r in rows]


def both_engines(world: World, **kw: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    figures.rebuild(world.db, engine="python", **kw)
    python = counts(world)
    figures.rebuild(world.db, engine="sql", **kw)
    return python, counts(world)


def test_sql_rebuild_equals_python_on_planned_histories(world: World) -> None:
    rng = random.Random(11)
    scripts = list(
        history.plan_history(
            rng,
            start=local("2026-06-01 00:00"),
            end=local("2026-12-15 00:00"),
            places=[history.Place(world.lon, world.lat)],
            categories=[(world.category.id, 1.0)],
            per_day=8,
            departments={world.category.id: "handler"},
            self_handle=frozenset({world.category.id}),
        )
    )
    cast = Cast({"worker": world.worker, "dispatcher": world.dispatcher, "handler": world.handler})
    assert history.write_bulk(world.db, scripts, cast, PHOTO) > 1000
    python, sql = both_engines(world, now=NOW)
    assert len(python) > 500
    assert sql == python
    since = NOW.date() - timedelta(days=40)
    python, sql = both_engines(world, now=NOW, since=since)
    assert sql == python


def _step(world: World, when: str, *names: str, case: Case) -> None:
    with acting_at(local(when)):
        world.drive(case, *names)


def every_branch(world: World) -> None:
    """Cases down each branch: extension, escalation, rework, 自处置, void, merge, 挂账, summons."""
    db, d, h = world.db, world.dispatcher, world.handler
    with acting_at(local("2026-11-02 09:00")):
        cases = [world.report() for _ in range(8)]
        for c in cases:
            world.steps.setdefault("photo", {})[c.id] = world.photo(c, world.worker)
    a, b, c, e, f, g, m, s = cases
    # a: escalated twice (grid → village → township), reworked, closed late, rated 5.
    _step(world, "2026-11-02 09:30", "register", "dispatch", case=a)
    for when in ("2026-11-02 10:00", "2026-11-03 10:00"):
        with acting_at(local(when)):
            actions.escalate_case(db, a, actor=d, note="bigger")
    _step(world, "2026-11-04 09:00", "accept", "handle", case=a)
    with acting_at(local("2026-11-04 10:00")):
        actions.verify_case(db, a, actor=world.worker, passed=False, note="not yet")
    _step(world, "2026-11-20 09:00", "handle", "verify", "close", case=a)
    with acting_at(local("2026-11-20 12:00")):
        actions.evaluate_case(db, a, actor=d, rating=5)
    # b: an extension approved in time, handled within it, closed.
    _step(world, "2026-11-02 09:10", "register", "dispatch", "accept", case=b)
    with acting_at(local("2026-11-03 09:00")):
        actions.request_extension(db, b, actor=h, amount=2, reason="parts")
        actions.approve_extension(db, b, actor=d)
    _step(world, "2026-11-10 09:00", "handle", "verify", "close", case=b)
    # c: self-handled on the spot; e: voided after registration; f: merged into g.
    with acting_at(local("2026-11-02 09:20")):
        actions.self_handle_case(
            db, c, actor=world.worker, note="fixed", attachment_ids=[world.steps["photo"][c.id]]
        )
    _step(world, "2026-11-02 09:15", "register", case=e)
    with acting_at(local("2026-11-02 11:00")):
        actions.void_case(db, e, actor=d, reason="duplicate")
    _step(world, "2026-11-02 09:25", "register", case=g)
    with acting_at(local("2026-11-02 09:40")):
        actions.merge_case(db, f, into=g, actor=d, note="same")
    # g: suspended (挂账) while dispatched, resumed, overdue later.
    _step(world, "2026-11-02 10:00", "dispatch", case=g)
    with acting_at(local("2026-11-03 10:00")):
        actions.suspend_case(db, g, actor=d, reason="budget")
    with acting_at(local("2026-11-09 10:00")):
        actions.resume_case(db, g, actor=d)
    # m: returned and dispatched again, then handled on time.
    _step(world, "2026-11-02 09:05", "register", "dispatch", case=m)
    with acting_at(local("2026-11-02 09:50")):
        actions.return_case(db, m, actor=h, reason="not ours")
    _step(world, "2026-11-02 10:30", "dispatch", "accept", "handle", "verify", "close", case=m)
    with acting_at(local("2026-11-02 16:00")):
        actions.evaluate_case(db, m, actor=d, rating=2)
    # s: two departments summoned (吹哨), one reports in on time.
    _step(world, "2026-11-02 09:35", "register", "dispatch", case=s)
    with acting_at(local("2026-11-02 09:45")):
        actions.summon_departments(db, s, actor=d, departments=[world.dept.code, world.dept2.code])
    summons = db.scalars(select(CaseSummons).where(CaseSummons.case_id == s.id)).first()
    assert summons is not None
    with acting_at(local("2026-11-02 09:55")):
        actions.acknowledge_summons(db, summons, actor=h)
    db.commit()


def test_sql_rebuild_equals_python_on_every_branch(world: World) -> None:
    every_branch(world)
    python, sql = both_engines(world, now=NOW)
    assert sql == python
    parts = {p if not p.startswith("close_h") else "close_h" for *_, p, _n in sql}
    assert parts == PARTS
    python, sql = both_engines(world, now=NOW, since=local("2026-11-04 00:00").date())
    assert sql == python
