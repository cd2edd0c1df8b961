"""The bulk history writer writes exactly what the real actions write for the same scripts."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from civgrid.cases import history
from civgrid.cases.history import Cast, Move, Script
from civgrid.cases.models import Case, CaseAttachment, CaseClock, CaseEvent
from tests.cases.conftest import World, png_bytes

T0 = history.datetime(2026, 11, 2, 1, 0, tzinfo=history.UTC)  # 09:00 in Shanghai, a Monday
PHOTO = png_bytes((20, 120, 40))


def h(hours: float) -> Any:
    return T0 + timedelta(hours=hours)


def scripts(world: World) -> list[Script]:
    """One script per branch the writer knows, late and on time, open and closed."""
    main = [
        Move("register", h(0.5), "dispatcher", "ok"),
        Move("dispatch", h(3), "dispatcher"),
        Move("accept", h(4), "handler"),
        Move("start", h(5), "handler"),
        Move("handle", h(24), "handler", "done"),
        Move("verify_fail", h(25), "worker", "not yet"),
        Move("handle", h(48), "handler", "redone"),
        Move("verify_pass", h(49), "worker"),
        Move("close", h(50), "dispatcher", "fixed"),
        Move("evaluate", h(70), "dispatcher", "good", 4),
    ]
    lives = [
        main,
        main[:4],
        [Move("reject", h(0.2), "dispatcher", "not ours")],
        [Move("self_handle", h(0.3), "worker", "fixed on the spot")],
        [*main[:1], Move("void", h(1), "dispatcher", "duplicate")],
        [*main[:2], Move("suspend", h(30), "dispatcher", "budget")],
        [],
    ]
    return [
        Script(
            world.category.id,
            world.lon,
            world.lat,
            T0 + timedelta(minutes=i),
            "worker",
            "x",
            moves=life,
        )
        for i, life in enumerate(lives)
    ]


def _rows(world: World, cases: list[Case]) -> list[dict[str, Any]]:
    db = world.db
    db.expire_all()
    out = []
    skip_case = {"id", "number", "version"}  # version is the stale-write counter, not history
    for case in cases:
        db.refresh(case)
        row = {
            c.key: getattr(case, c.key) for c in Case.__table__.columns if c.key not in skip_case
        }
        atts = {
            a.id: i
            for i, a in enumerate(
                db.scalars(
                    select(CaseAttachment)
                    .where(CaseAttachment.case_id == case.id)
                    .order_by(CaseAttachment.id)
                )
            )
        }
        row["events"] = [
            (
                e.at,
                e.actor_id,
                e.actor_label,
                str(e.action),
                e.from_state,
                e.to_state,
                e.note,
                e.data,
                [atts[a] for a in e.attachment_ids],
            )
            for e in db.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        ]
        row["clocks"] = [
            (c.stage, c.amount, c.unit, c.started_at, c.due_at, c.finished_at, c.escalated_at)
            for c in db.scalars(
                select(CaseClock).where(CaseClock.case_id == case.id).order_by(CaseClock.id)
            )
        ]
        row["attachments"] = [
            (
                a.kind,
                a.sha256,
                a.content_type,
                a.size,
                a.width,
                a.height,
                a.uploaded_by_id,
                a.uploaded_at,
            )
            for a in db.scalars(
                select(CaseAttachment)
                .where(CaseAttachment.case_id == case.id)
                .order_by(CaseAttachment.id)
            )
        ]
        out.append(row)
    return out


def test_bulk_history_writes_what_the_real_actions_write(world: World) -> None:
    cast = Cast({"worker": world.worker, "dispatcher": world.dispatcher, "handler": world.handler})
    driven = [history.drive(world.db, s, cast, PHOTO) for s in scripts(world)]
    before = world.db.scalar(select(history.func.max(Case.id)))
    assert history.write_bulk(world.db, scripts(world), cast, PHOTO) == len(driven)
    bulk = list(world.db.scalars(select(Case).where(Case.id > before).order_by(Case.id)))
    assert _rows(world, bulk) == _rows(world, driven)
    numbers = [c.number for c in driven + bulk]
    assert len(set(numbers)) == len(numbers)  # the day's counter goes on after the bulk
    later = history.drive(world.db, scripts(world)[0], cast, PHOTO)
    assert later.number not in numbers


def test_planned_history_is_seasonal_and_writes_quickly(world: World) -> None:
    rng = random.Random(7)
    start = history.datetime(2025, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    planned = list(
        history.plan_history(
            rng,
            start=start,
            end=start + timedelta(days=365),
            places=[history.Place(world.lon, world.lat)],
            categories=[(world.category.id, 1.0)],
            per_day=2,
            departments={world.category.id: "handler"},
            self_handle=frozenset({world.category.id}),
        )
    )
    by_month: dict[int, int] = {}
    for s in planned:
        by_month[s.at.month] = by_month.get(s.at.month, 0) + 1
    assert by_month[7] > by_month[1] * 1.5
    cast = Cast({"worker": world.worker, "dispatcher": world.dispatcher, "handler": world.handler})
    assert history.write_bulk(world.db, planned, cast, PHOTO) == len(planned)
    states = set(world.db.scalars(select(Case.state).distinct()))
    assert {"closed", "evaluated", "rejected"} <= {str(s) for s in states}
