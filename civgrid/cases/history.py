"""Case histories in bulk: plan months of realistic cases, write them as the actions would.

A :class:`Script` is one case's life: the report, then moves by named people at given
instants. :func:`drive` plays a script through the real actions (slow, exact by definition);
:func:`write_bulk` writes the rows those actions would write (cases, events, clocks,
attachments, number counters) with a few multi-row INSERTs, for the demo's year of history
and the benchmarks' millions. ``tests/cases/test_history.py`` checks that both write the same.
Not written in bulk: notifications (a history is not news) and audit rows (cases write none).

Both paths use the same code for what matters: ``plan_report`` for the report, the
transition table, ``STAGE_OF`` / ``STAMP_OF`` and the calendar for clocks and deadlines.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.calendar.service import get_calendar
from civgrid.cases import actions
from civgrid.cases.attachments import check_image, store_image
from civgrid.cases.engine import STAGE_OF, STAMP_OF, actor_label
from civgrid.cases.models import (
    AttachmentKind,
    Case,
    CaseAttachment,
    CaseClock,
    CaseEvent,
    CaseNumberCounter,
    CaseSource,
)
from civgrid.cases.newcase import _number, number_prefix
from civgrid.cases.transitions import CaseAction, CaseState, target
from civgrid.catalogue.models import Category, RoutingRule
from civgrid.catalogue.service import category_rules, suggest_from, time_limit_for
from civgrid.db.base import acting_at

S, A = CaseState, CaseAction
MOVES = (
    "register",
    "reject",
    "dispatch",
    "accept",
    "start",
    "handle",
    "verify_pass",
    "verify_fail",
    "close",
    "evaluate",
    "self_handle",
    "void",
    "suspend",
)


@dataclass(frozen=True)
class Move:
    """One action of a script: what, when, by whom (a cast key), with its note or rating."""

    name: str
    at: datetime
    by: str
    note: str = ""
    rating: int = 0


@dataclass
class Script:
    """One case's life, from the report on."""

    category_id: int
    lon: float
    lat: float
    at: datetime
    by: str  # the reporting member of the cast
    description: str
    source: CaseSource = CaseSource.PATROL
    moves: list[Move] = field(default_factory=list)


@dataclass(frozen=True)
class Cast:
    """The people of a history by key: "worker", "dispatcher", "handler:<department code>"."""

    people: dict[str, User]

    def __getitem__(self, key: str) -> User:
        return self.people[key]


# ---------------------------------------------------------------- through the real actions


def drive(db: Session, script: Script, cast: Cast, photo: bytes) -> Case:
    """Play a script through the real actions, each at its instant."""
    with acting_at(script.at):
        case = actions.report_case(
            db,
            source=script.source,
            category=script.category_id,
            lon=script.lon,
            lat=script.lat,
            description=script.description,
            actor=cast[script.by],
        ).case
    for m in script.moves:
        with acting_at(m.at):
            _act(db, case, m, cast[m.by], photo)
    return case


def _act(db: Session, case: Case, m: Move, who: User, photo: bytes) -> None:
    if m.name in ("handle", "self_handle"):
        att = actions.attach_photo(db, case, actor=who, data=photo, kind=AttachmentKind.AFTER)
        if m.name == "handle":
            actions.handle_case(db, case, actor=who, feedback=m.note, attachment_ids=[att.id])
        else:
            actions.self_handle_case(db, case, actor=who, note=m.note, attachment_ids=[att.id])
        return
    calls: dict[str, Any] = {
        "register": lambda: actions.register_case(db, case, actor=who, note=m.note),
        "reject": lambda: actions.reject_case(db, case, actor=who, reason=m.note),
        "dispatch": lambda: actions.dispatch_case(db, case, actor=who, note=m.note),
        "accept": lambda: actions.accept_case(db, case, actor=who, note=m.note),
        "start": lambda: actions.start_case(db, case, actor=who, note=m.note),
        "verify_pass": lambda: actions.verify_case(db, case, actor=who, passed=True, note=m.note),
        "verify_fail": lambda: actions.verify_case(db, case, actor=who, passed=False, note=m.note),
        "close": lambda: actions.close_case(db, case, actor=who, outcome=m.note),
        "evaluate": lambda: actions.evaluate_case(
            db, case, actor=who, rating=m.rating, comment=m.note
        ),
        "void": lambda: actions.void_case(db, case, actor=who, reason=m.note),
        "suspend": lambda: actions.suspend_case(db, case, actor=who, reason=m.note),
    }
    calls[m.name]()


# ---------------------------------------------------------------- in bulk


@dataclass
class _Rows:
    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    clocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)


class _Ids:
    """Explicit ids from the tables' current maximum (the bulk writer runs alone)."""

    def __init__(self, db: Session) -> None:
        self.next = {
            m.__tablename__: (db.scalar(select(func.max(m.id))) or 0) + 1
            for m in (Case, CaseEvent, CaseClock, CaseAttachment)
        }

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _columns(obj: Any) -> dict[str, Any]:
    """An unflushed ORM object's column values, with the Python-side defaults a flush applies."""
    row = {}
    for c in obj.__table__.columns:
        value = getattr(obj, c.key)
        if value is None and c.default is not None:
            value = c.default.arg(None) if c.default.is_callable else c.default.arg
        row[c.key] = value
    row.pop("id", None)
    return row


class _Writer:
    """Turns scripts into rows exactly as the actions' ``Step.move`` would."""

    def __init__(self, db: Session, cast: Cast, photo: bytes) -> None:
        self.db, self.cast = db, cast
        self.calendar = get_calendar(db)
        self.ids = _Ids(db)
        self.rows = _Rows()
        self.counters: dict[str, int] = {}
        self.image = check_image(photo)
        store_image(self.image)
        self.suggested: dict[tuple[int, str], str | None] = {}
        self.rules: dict[int, Sequence[RoutingRule]] = {}
        # every day's counter at once: one query instead of one per township and day
        self.known = dict(
            db.execute(select(CaseNumberCounter.prefix, CaseNumberCounter.last)).all()
        )

    def case(self, script: Script) -> None:
        reporter = self.cast[script.by]
        planned = actions.plan_report(
            self.db,
            source=script.source,
            category=script.category_id,
            lon=script.lon,
            lat=script.lat,
            description=script.description,
            actor=reporter,
            now=script.at,
        )
        case = _columns(planned.case)
        case_id = self.ids.take("cases")
        prefix = number_prefix(planned.township_code, script.at)
        case["number"] = _number(prefix, self._next_number(prefix))
        case.update(id=case_id, version=1, department_code=None, rating=None)
        case.update(extension_amount=None, state_before_suspension=None)
        state = _CaseState(self, case, [])
        event = _columns(planned.event)
        state.event(event)
        state.clock(_columns(planned.clock))
        for m in script.moves:
            state.apply(m, self.cast[m.by])
        case["version"] = len(state.events)  # the stale-write counter: any positive value
        self.rows.cases.append(case)

    def _next_number(self, prefix: str) -> int:
        if prefix not in self.counters:
            self.counters[prefix] = self.known.get(prefix, 0)
        self.counters[prefix] += 1
        return self.counters[prefix]

    def suggestion(self, case: dict[str, Any]) -> str | None:
        """``routing_suggestion``, with each category's rules read once."""
        key = category_id, division = case["category_id"], case["division_code"]
        if key not in self.suggested:
            if category_id not in self.rules:
                category = self.db.get(Category, category_id)
                self.rules[category_id] = category_rules(self.db, category) if category else []
            found = suggest_from(self.rules[category_id], division)
            self.suggested[key] = found.code if found else None
        return self.suggested[key]


@dataclass
class _CaseState:
    w: _Writer
    case: dict[str, Any]
    events: list[dict[str, Any]]
    open_clock: dict[str, Any] | None = None

    def event(self, row: dict[str, Any]) -> None:
        row.update(id=self.w.ids.take("case_events"), case_id=self.case["id"])
        self.events.append(row)
        self.w.rows.events.append(row)

    def clock(self, row: dict[str, Any]) -> None:
        row.update(id=self.w.ids.take("case_clocks"), case_id=self.case["id"])
        row.setdefault("finished_at", None)
        row.setdefault("escalated_at", None)
        self.open_clock = row
        self.w.rows.clocks.append(row)
        c = self.case
        c["stage"], c["stage_started_at"] = row["stage"], row["started_at"]
        c["due_at"], c["due_unit"], c["yellow_at"] = row["due_at"], row["unit"], row["yellow_at"]

    def move(
        self,
        action: CaseAction,
        who: User,
        at: datetime,
        *,
        note: str = "",
        data: dict[str, Any] | None = None,
        attachment_ids: Sequence[int] = (),
    ) -> None:
        """``civgrid.cases.engine.Step.move`` on rows."""
        c = self.case
        old = c["state"]
        new = target(action, old, c["state_before_suspension"])
        if new != old:
            if new == S.SUSPENDED:
                c["state_before_suspension"] = old
            elif old == S.SUSPENDED:
                c["state_before_suspension"] = None
            c["state"] = new
            stamp = STAMP_OF.get(new)
            if stamp:
                c[stamp] = at
            restart = STAGE_OF.get(new) != STAGE_OF.get(old) or new == S.REWORK
            if restart or old == S.SUSPENDED:
                if self.open_clock is not None:
                    self.open_clock["finished_at"] = at
                    self.open_clock = None
                c["stage"] = c["stage_started_at"] = c["due_at"] = c["due_unit"] = None
                c["yellow_at"] = None
                if new in STAGE_OF:
                    stage = STAGE_OF[new]
                    amount, unit = time_limit_for(self.w.db, c["category_id"], stage)
                    due = self.w.calendar.deadline(at, amount, unit)
                    self.clock(
                        {
                            "stage": stage,
                            "amount": amount,
                            "unit": unit,
                            "started_at": at,
                            "due_at": due,
                            "yellow_at": self.w.calendar.turns_yellow(at, due, unit),
                        }
                    )
        c["updated_at"] = at
        self.event(
            {
                "at": at,
                "actor_id": who.id,
                "actor_label": actor_label(who),
                "action": action,
                "from_state": old,
                "to_state": new,
                "note": note,
                "data": data or {},
                "attachment_ids": list(attachment_ids),
            }
        )

    def photo(self, who: User, at: datetime) -> int:
        image = self.w.image
        att_id = self.w.ids.take("case_attachments")
        self.w.rows.attachments.append(
            {
                "id": att_id,
                "case_id": self.case["id"],
                "kind": AttachmentKind.AFTER,
                "sha256": image.sha256,
                "content_type": image.content_type,
                "size": len(image.data),
                "width": image.width,
                "height": image.height,
                "filename": "",
                "uploaded_by_id": who.id,
                "uploaded_at": at,
            }
        )
        self.move(
            A.ATTACH, who, at, data={"kind": str(AttachmentKind.AFTER)}, attachment_ids=[att_id]
        )
        return att_id

    def apply(self, m: Move, who: User) -> None:
        c, at = self.case, m.at
        if m.name == "register":
            suggested = self.w.suggestion(c)
            self.move(A.REGISTER, who, at, note=m.note, data={"suggested_department": suggested})
        elif m.name == "dispatch":
            suggested = self.w.suggestion(c)
            data = {"suggested_department": suggested, "department": suggested, "override": False}
            self.move(A.DISPATCH, who, at, note=m.note, data=data)
            c["department_code"] = suggested
        elif m.name in ("handle", "self_handle"):
            att = self.photo(who, at)
            action = A.HANDLE if m.name == "handle" else A.SELF_HANDLE
            role = {"role": who.role.value} if m.name == "self_handle" else None
            self.move(action, who, at, note=m.note, data=role, attachment_ids=[att])
            if m.name == "self_handle":
                c["outcome_note"], c["handled_at"] = m.note, at
        elif m.name == "evaluate":
            self.move(A.EVALUATE, who, at, note=m.note, data={"rating": m.rating})
            c["rating"] = m.rating
        else:
            action = {
                "reject": A.REJECT,
                "accept": A.ACCEPT,
                "start": A.START,
                "verify_pass": A.VERIFY_PASS,
                "verify_fail": A.VERIFY_FAIL,
                "close": A.CLOSE,
                "void": A.VOID,
                "suspend": A.SUSPEND,
            }[m.name]
            verify = m.name in ("verify_pass", "verify_fail")
            role = {"role": who.role.value} if verify else None  # who checked, as the action
            self.move(action, who, at, note=m.note, data=role)
            if m.name in ("reject", "close", "void"):
                c["outcome_note"] = m.note


def write_bulk(
    db: Session, scripts: Sequence[Script], cast: Cast, photo: bytes, *, batch: int = 5000
) -> int:
    """Write the scripts' cases as the actions would, in multi-row INSERTs; commit. Runs alone."""
    w = _Writer(db, cast, photo)
    written = 0
    for i in range(0, len(scripts), batch):
        w.rows = _Rows()
        for script in scripts[i : i + batch]:
            w.case(script)
        _insert(db, w.rows)
        written += len(w.rows.cases)
    _save_counters(db, w.counters)
    _reset_sequences(db)
    db.commit()
    return written


def _insert(db: Session, rows: _Rows) -> None:
    for model, values in (
        (Case, rows.cases),
        (CaseAttachment, rows.attachments),
        (CaseEvent, rows.events),
        (CaseClock, rows.clocks),
    ):
        for i in range(0, len(values), 2000):
            table: Table = model.__table__  # type: ignore[assignment]
            db.execute(insert(table), values[i : i + 2000])


def _save_counters(db: Session, counters: dict[str, int]) -> None:
    """Every day's counter in one upsert (the bulk writer runs alone)."""
    if not counters:
        return
    dialect = db.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    table: Table = CaseNumberCounter.__table__  # type: ignore[assignment]
    rows = [{"prefix": p, "last": last} for p, last in counters.items()]
    for i in range(0, len(rows), 5000):
        q = upsert(table).values(rows[i : i + 5000])
        db.execute(
            q.on_conflict_do_update(index_elements=["prefix"], set_={"last": q.excluded.last})
        )


def _reset_sequences(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        return
    for table in ("cases", "case_events", "case_clocks", "case_attachments"):
        db.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        )


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class Place:
    """Where cases are reported, and who reports and verifies there (a cast key)."""

    lon: float
    lat: float
    reporter: str = "worker"
    may_self_handle: bool = True


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(hours=rng.uniform(low, high))


def _working_instant(at: datetime, zone: tzinfo) -> datetime:
    """Move an instant into the next working window (08–12, 14–18 local, Monday–Friday)."""
    local = at.astimezone(zone)
    while True:
        if local.weekday() >= 5 or local.hour >= 18:
            local = (local + timedelta(days=1)).replace(hour=8, minute=0)
            continue
        if local.hour < 8:
            local = local.replace(hour=8, minute=0)
        elif 12 <= local.hour < 14:
            local = local.replace(hour=14, minute=0)
        return local.astimezone(UTC)


def plan_history(
    rng: random.Random,
    *,
    start: datetime,
    end: datetime,
    places: Sequence[Place],
    categories: Sequence[tuple[int, float]],
    per_day: float,
    departments: dict[int, str],
    self_handle: frozenset[int] = frozenset(),
) -> Iterator[Script]:
    """Scripts for cases reported between ``start`` and ``end`` (seasonal, weekday-heavy).

    ``categories`` are (id, weight); ``departments`` maps a category to the handling
    department's cast key; ``self_handle`` lists categories a grid worker may fix on the spot.
    Moves later than ``end`` are left out: those cases are still open at ``end``.
    """
    from civgrid.config import get_settings

    zone = get_settings().tz
    ids, weights = [c for c, _ in categories], [w for _, w in categories]
    day = start
    while day < end:
        for _ in range(_poisson(rng, per_day * day_weight(day.astimezone(zone)))):
            reported = day + timedelta(hours=rng.uniform(7, 21))
            if reported >= end:
                continue
            category = rng.choices(ids, weights)[0]
            place = rng.choice(places)
            script = Script(
                category_id=category,
                lon=place.lon,
                lat=place.lat,
                at=reported,
                by=place.reporter,
                description="巡查发现 / found on patrol",
            )
            fixable = place.may_self_handle and category in self_handle
            life = _life(rng, reported, departments[category], fixable, place.reporter, zone)
            script.moves = [m for m in life if m.at < end]
            yield script
        day += timedelta(days=1)


def day_weight(local: datetime) -> float:
    """How many of ``per_day`` cases ``plan_history`` plans on this local day, on average:
    more in summer, fewer at weekends."""
    weekday = 1.0 if local.weekday() < 5 else 0.45
    return (1.0 + 0.35 * _summer(local.month)) * weekday


def _summer(month: int) -> float:
    """+1 in July, −1 in January: rubbish, water and stalls peak in the hot months."""
    return {1: -1, 2: -0.8, 3: -0.3, 4: 0.1, 5: 0.5, 6: 0.8, 7: 1, 8: 0.9, 9: 0.5, 10: 0.1}.get(
        month, -0.6
    )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth for small means, a rounded normal for large ones.
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    threshold, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _life(
    rng: random.Random,
    at: datetime,
    handler: str,
    may_self_handle: bool,
    verifier: str,
    zone: tzinfo,
) -> list[Move]:
    """The moves of one case after its report: mostly the main line, some branches."""
    t = _working_instant(at, zone)
    roll = rng.random()
    if may_self_handle and roll < 0.12:
        return [Move("self_handle", t + _hours(rng, 0.1, 1), verifier, "当场处置 / fixed")]
    if roll < 0.2:
        return [Move("reject", t + _hours(rng, 0.2, 2), "dispatcher", "不属受理范围 / not ours")]
    moves = [Move("register", (t := t + _hours(rng, 0.1, 1.15)), "dispatcher")]
    if rng.random() < 0.03:
        return [*moves, Move("void", t + _hours(rng, 0.5, 3), "dispatcher", "重复 / duplicate")]
    t = _working_instant(t + _hours(rng, 0.05, 1.1), zone)
    moves.append(Move("dispatch", t, "dispatcher"))
    if rng.random() < 0.02:
        return [*moves, Move("suspend", t + _hours(rng, 2, 30), "dispatcher", "需立项 / budget")]
    moves.append(Move("accept", (t := t + _hours(rng, 0.2, 6)), handler))
    moves.append(Move("start", (t := t + _hours(rng, 0.1, 3)), handler))
    slow = 200 if rng.random() < 0.08 else 60  # some run past the 5 working days
    moves.append(Move("handle", (t := t + _hours(rng, 2, slow)), handler, "已处置 / done"))
    if rng.random() < 0.1:
        moves.append(Move("verify_fail", (t := t + _hours(rng, 1, 20)), verifier, "未完成 / redo"))
        moves.append(Move("handle", (t := t + _hours(rng, 2, 50)), handler, "已返工 / redone"))
    moves.append(Move("verify_pass", (t := t + _hours(rng, 1, 22)), verifier))
    moves.append(Move("close", (t := t + _hours(rng, 0.5, 20)), "dispatcher", "已办结 / done"))
    if rng.random() < 0.6:
        rating = rng.choices([5, 4, 3, 2, 1], [55, 25, 10, 6, 4])[0]
        moves.append(Move("evaluate", t + _hours(rng, 2, 48), "dispatcher", "回访", rating))
    return moves
