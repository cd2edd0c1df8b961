"""Page queries for the staff desk: queues and lists, sorted by deadline, one query per list.

Every list goes through ``civgrid.cases.service.scoped`` (the one scope helper), joins the
category in the same statement and computes the deadline light from the columns the workflow
engine keeps on the case, so a page costs a fixed number of statements however long its lists.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.calendar.units import Light
from civgrid.cases.engine import STAGE_OF
from civgrid.cases.models import (
    Case,
    CaseAttachment,
    CaseEvent,
    CaseSummons,
    Priority,
    is_emergency,
    light_rule,
    open_case,
    state_in,
)
from civgrid.cases.service import scoped
from civgrid.cases.transitions import OPEN, WORKING, CaseState
from civgrid.catalogue.models import Category
from civgrid.db import keyset
from civgrid.db.base import utcnow
from civgrid.departments.models import Department
from civgrid.errors import Forbidden
from civgrid.grids.models import Grid
from civgrid.web.i18n import N_

S = CaseState
COMMAND_ROLES = frozenset({Role.DISPATCHER, Role.DUTY_CHIEF, Role.ADMIN})
HANDLER_ROLES = frozenset({Role.DEPT_HANDLER})
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.SUPERVISOR})
LEADER_ROLES = frozenset({Role.GRID_LEADER})
STAFF_ROLES = scope.STAFF

# Where each role lands after logging in (角色首页).
LANDING: dict[Role, str] = {
    Role.ADMIN: "/desk/command",
    Role.DUTY_CHIEF: "/desk/command",
    Role.DISPATCHER: "/desk/command",
    Role.DEPT_HANDLER: "/desk/queue",
    Role.GRID_LEADER: "/desk/leader",
    Role.GRID_WORKER: "/field",
    Role.SUPERVISOR: "/field",
}

# Rows of each list on the desk pages: the most urgent, a first screen's worth; each list says
# its total and links to its own pages. (200 rows in seven lists made a 570 KB page at 10 M
# cases; at 50 the rows' loading and rendering were half of the command center's 150 ms.)
PREVIEW = 20
PAGE = 100  # rows per page of a list's own pages
COUNT_CAP = 1000  # lists count their cases no further: "1,000+"


@dataclass(frozen=True)
class Row:
    """One case in a list: its category, the light of its running stage clock, its grid's name
    and its first photo (the list shows that photo's thumbnail)."""

    case: Case
    category: Category
    light: Light | None
    grid_name: str | None = None
    photo_id: int | None = None

    @property
    def overdue(self) -> bool:
        return self.light == Light.RED


def landing_for(user: User) -> str | None:
    """The page a staff user starts on; None for roles without a desk page (residents)."""
    return LANDING.get(user.role)


def light_of(now: datetime) -> ColumnElement[Any]:
    """The running stage's light at ``now``, in SQL, from the stored deadline and the instant
    the light turns yellow (``WorkCalendar.turns_yellow``); NULL without a running clock."""
    return case(
        (or_(Case.due_at.is_(None), Case.state == S.SUSPENDED), null()),
        *light_rule(Case.due_at, Case.yellow_at, now),
        else_=literal(Light.GREEN.value),
    )


def _base(user: User, now: datetime, states: Iterable[CaseState]) -> Select[Any]:
    """Cases in ``states`` (open ones) the user may see, with the grid's name, the first
    photo's id and the light, in one statement.

    The grid's name and the photo are subqueries of the select list, so that they are read
    for the rows of the page only, after the limit: joined, they were read for every case the
    list's conditions match before the sort (5,800 overdue cases at 10 M, 36 ms, to show 51,
    where the planner expected 10). The categories come after, by id (``desk_lists``).

    The states are written literally, once: the planner proves the open-case indexes'
    condition from them, and estimates the rows of one condition on the state, where two
    (open, and the list's) would be multiplied as if independent (a hundredfold too few
    suspended cases at 10 M, and a sort of all of them instead of an index walk)."""
    first_photo = (
        select(func.min(CaseAttachment.id))
        .where(CaseAttachment.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    grid_name = (
        select(Grid.name)
        .where(Grid.code == Case.grid_code, Grid.valid_to.is_(None))
        .correlate(Case)
        .scalar_subquery()
    )
    query = select(Case, grid_name, first_photo, light_of(now)).where(state_in(states))
    return scoped(query, user, "view")


# States in which a stage clock runs, so the case has a deadline (civgrid.cases.engine).
CLOCKED = frozenset(STAGE_OF)


def by_deadline(name: str, states: Iterable[CaseState]) -> keyset.Keyset:
    """Emergencies first; then by deadline (cases without one last), oldest report first.

    Each part is a keyset segment read from an open-case index in its own order; a list
    whose states all run a clock (or none does) has only the parts it can hold.
    """
    states = frozenset(states)
    dated, undated = (Case.due_at, Case.reported_at, Case.id), (Case.reported_at, Case.id)
    # A case in a clocked state always has a deadline (the engine starts its clock with the
    # state): a list of clocked states only does not test it. The test would mislead the
    # planner, which takes the deadline's presence and the state as independent (0.2 % of
    # 10 M cases have a deadline, 0.1 % are being handled: it expected 13 rows and sorted
    # 12,000). The undated part keeps its test: it is what ``ix_cases_open_undated`` holds.
    mixed = bool(states - CLOCKED)
    segments = []
    for urgent in (is_emergency(), not_(is_emergency())):
        if states & CLOCKED:
            has = and_(urgent, Case.due_at.is_not(None)) if mixed else urgent
            segments.append(keyset.Segment(dated, has))
        if states - CLOCKED:
            segments.append(keyset.Segment(undated, and_(urgent, Case.due_at.is_(None))))
    return keyset.Keyset(f"desk-{name}", tuple(segments))


Where = Callable[[User, datetime], list[ColumnElement[bool]]]


def _nothing_more(_user: User, _now: datetime) -> list[ColumnElement[bool]]:
    return []


def _overdue(_user: User, now: datetime) -> list[ColumnElement[bool]]:
    return [Case.due_at < now]


def _extension_pending(_user: User, _now: datetime) -> list[ColumnElement[bool]]:
    return [Case.extension_amount.is_not(None)]


def _my_departments(user: User, _now: datetime) -> list[ColumnElement[bool]]:
    j = scope.Jurisdiction.of(user)
    summoned = select(CaseSummons.case_id).where(CaseSummons.department_code.in_(j.departments))
    return [Case.department_code.in_(j.departments) | Case.id.in_(summoned)]


@dataclass(frozen=True)
class DeskList:
    """A named list of the desk: which open cases, for which roles, in deadline order."""

    name: str
    title: str  # msgids, translated where shown
    empty: str
    roles: frozenset[Role]
    states: frozenset[CaseState]
    where: Where = _nothing_more

    @property
    def keyset(self) -> keyset.Keyset:
        return by_deadline(self.name, self.states)

    def query(self, user: User, now: datetime) -> Select[Any]:
        return _base(user, now, self.states).where(*self.where(user, now))


@dataclass(frozen=True)
class ListView:
    """A list's rows (a preview or one page), its total up to the cap, the way on."""

    list: DeskList
    rows: builtins.list[Row]
    total: int
    more_than_total: bool = False
    next: str | None = None
    previous: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    @property
    def partial(self) -> bool:
        """Whether the list holds more cases than it shows."""
        return self.more_than_total or self.total > len(self.rows)


_ACTIVE = [s for s in OPEN if s != S.SUSPENDED]
LISTS: dict[str, DeskList] = {
    d.name: d
    for d in (
        DeskList(
            "incoming",
            N_("Incoming"),
            N_("No new reports."),
            COMMAND_ROLES,
            frozenset({S.REPORTED}),
        ),
        DeskList(
            "to_dispatch",
            N_("To dispatch"),
            N_("Nothing to dispatch."),
            COMMAND_ROLES,
            frozenset({S.REGISTERED, S.RETURNED}),
        ),
        DeskList(
            "to_close",
            N_("Verified, to close"),
            N_("Nothing to close."),
            COMMAND_ROLES,
            frozenset({S.VERIFIED}),
        ),
        DeskList(
            "extensions",
            N_("Extension requests"),
            N_("No extension requests."),
            COMMAND_ROLES,
            frozenset(WORKING),
            _extension_pending,
        ),
        DeskList(
            "suspended",
            N_("Suspended"),
            N_("No suspended cases."),
            COMMAND_ROLES,
            frozenset({S.SUSPENDED}),
        ),
        DeskList(
            "in_progress",
            N_("In progress at departments"),
            N_("Nothing is with a department."),
            COMMAND_ROLES,
            frozenset({*WORKING, S.HANDLED}),
        ),
        DeskList(
            "overdue",
            N_("Overdue cases"),
            N_("Nothing is overdue."),
            COMMAND_ROLES | LEADER_ROLES,
            frozenset(_ACTIVE),
            _overdue,
        ),
        DeskList(
            "queue",
            N_("My queue"),
            N_("Nothing here."),
            HANDLER_ROLES,
            frozenset(WORKING),
            _my_departments,
        ),
        DeskList(
            "verify",
            N_("Waiting for verification"),
            N_("No case is waiting for verification."),
            LEADER_ROLES | FIELD_ROLES,
            frozenset({S.HANDLED}),
        ),
        DeskList(
            "open",
            N_("Open cases"),
            N_("No open cases."),
            LEADER_ROLES | FIELD_ROLES,
            frozenset(OPEN),
        ),
    )
}


def desk_list(
    db: Session,
    user: User,
    name: str,
    *,
    size: int = PREVIEW,
    cursor: str | None = None,
    now: datetime | None = None,
) -> ListView:
    """One list for ``user``: a page of ``size`` rows from ``cursor``, and its capped total.

    Two to four statements for the rows (one per keyset segment reached) and one for the
    count, whatever the number of cases, open or closed.
    """
    return desk_lists(db, user, [name], size=size, cursor=cursor, now=now)[name]


def desk_lists(
    db: Session,
    user: User,
    names: Iterable[str],
    *,
    size: int = PREVIEW,
    cursor: str | None = None,
    now: datetime | None = None,
) -> dict[str, ListView]:
    """Several lists for ``user`` at one ``now``, each as :func:`desk_list` makes it, with
    the totals of all of them counted in one statement."""
    now = now or utcnow()
    lists, queries, pages = [], [], []
    for name in names:
        d = LISTS[name]
        if user.role not in d.roles:
            raise Forbidden("this list is for other roles", roles=sorted(r.value for r in d.roles))
        query = d.query(user, now)
        lists.append(d)
        queries.append(query.with_only_columns(Case.id))
        pages.append(d.keyset.page(db, query, size, cursor))
    categories = categories_by_id(db, (r[0].category_id for p in pages for r in p.rows))
    totals = keyset.capped_counts(db, queries, COUNT_CAP)
    views = {}
    for d, page, (total, capped) in zip(lists, pages, totals, strict=True):
        rows = [
            Row(case_, categories[case_.category_id], Light(light) if light else None, grid, ph)
            for case_, grid, ph, light in page.rows
        ]
        views[d.name] = ListView(d, rows, total, capped, page.next, page.previous)
    return views


@dataclass(frozen=True)
class CommandCenter:
    incoming: ListView
    to_dispatch: ListView
    extensions: ListView
    suspended: ListView
    to_close: ListView
    overdue: ListView
    in_progress: ListView

    @property
    def emergencies(self) -> int:
        """Open emergencies shown on the board (each case once)."""
        rows = (self.incoming, self.to_dispatch, self.to_close, self.suspended, self.in_progress)
        return len({r.case.id for q in rows for r in q if r.case.priority == Priority.EMERGENCY})


def command_center(db: Session, user: User) -> CommandCenter:
    """The dispatcher's and duty chief's queues (指挥中心), each a preview with its total."""
    return CommandCenter(**desk_lists(db, user, [f.name for f in fields(CommandCenter)]))


def actor_names(db: Session, events: Iterable[CaseEvent]) -> dict[int, str]:
    """Display names of the people in a timeline, by user id (one statement)."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


def categories_by_id(db: Session, ids: Iterable[int]) -> dict[int, Category]:
    """Categories by id: those the session holds already, the rest in one statement."""
    wanted = set(ids)
    found: dict[int, Category] = {}
    for id_ in wanted:
        held = db.identity_map.get(identity_key(Category, id_))
        if isinstance(held, Category):
            found[id_] = held
    missing = wanted - found.keys()
    if missing:
        found.update(
            (c.id, c) for c in db.scalars(select(Category).where(Category.id.in_(missing)))
        )
    return found


def attachments_of(db: Session, case: Case) -> Sequence[CaseAttachment]:
    query = select(CaseAttachment).where(CaseAttachment.case_id == case.id)
    return db.scalars(query.order_by(CaseAttachment.id)).all()


def department(db: Session, code: str | None) -> Department | None:
    if not code:
        return None
    return db.scalar(select(Department).where(Department.code == code))


def active_departments(db: Session) -> Sequence[Department]:
    query = select(Department).where(Department.is_active).order_by(Department.code)
    return db.scalars(query).all()


# The map: up to this many open cases as points; more are grouped into grid cells server-side.
MAP_POINTS = 500
CELLS_ACROSS = 24  # cells across the view when grouping


@dataclass(frozen=True)
class BBox:
    """A WGS84 box: west, south, east, north."""

    west: float
    south: float
    east: float
    north: float

    def within(self) -> ColumnElement[bool]:
        return and_(
            Case.lon >= self.west,
            Case.lon <= self.east,
            Case.lat >= self.south,
            Case.lat <= self.north,
        )

    def cell(self) -> float:
        """The side of a grouping cell, in degrees: a fixed fraction of the view's width."""
        return max(self.east - self.west, self.north - self.south, 1e-6) / CELLS_ACROSS


def cases_geojson(db: Session, user: User, bbox: BBox | None = None) -> dict[str, Any]:
    """Open cases in the box (without one: all in the user's scope) for the command-center map,
    every one represented.

    Up to ``MAP_POINTS`` come as points with their light; beyond, as groups (one per grid
    cell of the view) with their number of cases and of each light, so the map never drops
    cases silently. ``total`` is always the number of open cases in the box. The groups are
    counted first, in one aggregate over an index; only a view of few cases reads its cases.
    """
    now = utcnow()
    features = _groups(db, user, bbox, now)
    total = sum(f["properties"]["count"] for f in features)
    if total <= MAP_POINTS:
        features = _points(db, user, bbox, now)
    return {"type": "FeatureCollection", "total": total, "features": features}


def _points(db: Session, user: User, bbox: BBox | None, now: datetime) -> list[dict[str, Any]]:
    query = select(Case.number, Case.state, Case.lon, Case.lat, Category.name_zh, light_of(now))
    query = query.join(Category, Category.id == Case.category_id).where(open_case())
    query = scoped(query, user, "view")
    if bbox is not None:
        query = query.where(bbox.within())
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "number": number,
                "state": state.value,
                "light": light or "none",
                "category": category,
                "url": f"/desk/cases/{number}",
                "count": 1,
            },
        }
        for number, state, lon, lat, category, light in db.execute(query.limit(MAP_POINTS))
    ]


def _extent(db: Session, user: User) -> BBox:
    """The box of the user's current grids (what the map first shows), or, without grids in
    scope, of the open cases in scope."""
    grids: Any = select(
        func.min(Grid.min_lon),
        func.min(Grid.min_lat),
        func.max(Grid.max_lon),
        func.max(Grid.max_lat),
    ).where(Grid.valid_to.is_(None))
    box: Any = db.execute(scope.restrict(grids, user, "view", Grid)).one()
    west, south, east, north = box
    if west is None:
        cases_ = select(
            func.min(Case.lon), func.min(Case.lat), func.max(Case.lon), func.max(Case.lat)
        ).where(open_case())
        west, south, east, north = db.execute(scoped(cases_, user, "view")).one()
    return BBox(west or 0.0, south or 0.0, east or 0.0, north or 0.0)


LIGHTS = ("red", "yellow", "green", "none")


def _groups(db: Session, user: User, bbox: BBox | None, now: datetime) -> list[dict[str, Any]]:
    """Open cases grouped by grid cell, in SQL: count, mean position and the count of each
    light (``light_of``, computed once per case: the groups are cells and lights, summed per
    cell here); on PostgreSQL one index-only scan of the open cases' summary index. Without a
    box, the cells are those of the user's grids' box, and cases outside it count too."""
    size = (bbox or _extent(db, user)).cell()
    # shifted to be positive, so that the cast (a truncation) is the floor on both backends
    col = cast((Case.lon + 180.0) / size, BigInteger)
    row = cast((Case.lat + 90.0) / size, BigInteger)
    light = light_of(now)
    query = scoped(
        select(col, row, light, func.count(), func.sum(Case.lon), func.sum(Case.lat)),
        user,
        "view",
    ).where(open_case())
    if bbox is not None:
        query = query.where(bbox.within())
    if db.get_bind().dialect.name == "postgresql":
        # At most a few thousand groups (cells across the view by lights), but the planner
        # cannot tell from expressions and expects one per case: with its default memory it
        # sorts the cases on disk (105 ms for 175,000 open cases) where hashing takes 63 ms.
        db.execute(text("SET LOCAL work_mem = '32MB'"))
    cells: dict[tuple[int, int], list[Any]] = {}
    for c, r, colour, count, lon, lat in db.execute(query.group_by(col, row, light)):
        cell = cells.setdefault((c, r), [0, 0.0, 0.0, dict.fromkeys(LIGHTS, 0)])
        cell[0] += count
        cell[1] += lon
        cell[2] += lat
        cell[3][colour or "none"] += count
    features = []
    for count, lon, lat, lights in cells.values():
        worst = next(colour for colour in LIGHTS if lights[colour])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon / count, lat / count]},
                "properties": {"count": count, "light": worst, "lights": lights},
            }
        )
    return features
