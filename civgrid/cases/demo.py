"""Demo cases in 石碣镇, in various states, made through the real actions (idempotent)."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases import actions
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.catalogue.models import Category
from civgrid.errors import CivgridError
from civgrid.grids.geo import from_text
from civgrid.grids.models import Grid

DEMO_VILLAGE = "441900101002"  # the demo grid worker's village


def demo_points(db: Session, count: int) -> list[tuple[float, float]]:
    """Points inside the current grids of the demo village, spread over its grids."""
    grids = db.scalars(
        select(Grid)
        .where(Grid.village_code == DEMO_VILLAGE, Grid.valid_to.is_(None))
        .order_by(Grid.code)
    ).all()
    if not grids:
        raise LookupError(f"no grids in {DEMO_VILLAGE}: load the demo territory first")
    points: list[tuple[float, float]] = []
    for i in range(count):
        shape = from_text(grids[i % len(grids)].geometry)
        centre = shape.representative_point()
        # Walk a little from the representative point, staying inside the grid.
        for step in (0.0004 * (i // len(grids)), 0.0):
            p = Point(centre.x + step, centre.y + step / 2)
            if shape.contains(p):
                points.append((round(p.x, 6), round(p.y, 6)))
                break
    return points


def demo_report_target(db: Session) -> tuple[int, float, float]:
    """(category id, lon, lat) of a report the demo dispatcher may file (used by the bench)."""
    lon, lat = demo_points(db, 1)[0]
    return _category(db, "M03005").id, lon, lat


def _category(db: Session, code: str) -> Category:
    category = db.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise LookupError(f"category {code} missing: load the catalogue first")
    return category


def demo_photo(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def load_demo_cases(db: Session) -> int:
    """A dozen demo cases in every typical state; nothing is added when cases already exist."""
    if db.scalar(select(func.count()).select_from(Case)):
        return 0
    users = {u.username: u for u in db.scalars(select(User))}
    worker, disp, cg, hw = (
        users["worker"],
        users["dispatcher"],
        users["handler"],
        users["sanitation"],
    )
    leader = users["leader"]
    points = iter(demo_points(db, 12))

    def report(code: str, text: str, *, source: CaseSource = CaseSource.PATROL) -> Case:
        lon, lat = next(points)
        phone = "13800138000" if source == CaseSource.HOTLINE else None
        return actions.report_case(
            db,
            source=source,
            category=_category(db, code),
            lon=lon,
            lat=lat,
            description=text,
            actor=worker if source == CaseSource.PATROL else disp,
            contact=actions.Contact(phone=phone),
        ).case

    def photo(case: Case, who: User, kind: AttachmentKind) -> int:
        colour = (90, 140, 60) if kind == AttachmentKind.AFTER else (140, 90, 60)
        return actions.attach_photo(db, case, actor=who, data=demo_photo(colour), kind=kind).id

    def handled(case: Case, who: User) -> None:
        actions.register_case(db, case, actor=disp)
        actions.dispatch_case(db, case, actor=disp)
        actions.accept_case(db, case, actor=who)
        actions.start_case(db, case, actor=who)
        actions.handle_case(
            db,
            case,
            actor=who,
            feedback="已清理完毕 / cleared",
            attachment_ids=[photo(case, who, AttachmentKind.AFTER)],
        )

    steps: list[Callable[[], object]] = [
        lambda: report("M03005", "垃圾箱破损，垃圾外溢 / bin broken, rubbish spilling"),
        lambda: actions.register_case(
            db, report("M03001", "公厕无人保洁 / public toilet not cleaned"), actor=disp
        ),
        lambda: _dispatched(db, report("M03004", "垃圾房异味 / smell from refuse room"), disp),
        lambda: handled(report("M03005", "垃圾箱倾倒 / bin knocked over"), hw),
        lambda: _closed(
            db, report("M03016", "烟头收集器损坏 / ash bin broken"), hw, handled, worker, disp
        ),
        lambda: _self_handled(
            db, report("G01003", "出租屋缺灭火器 / rental lacks extinguisher"), worker, photo
        ),
        lambda: actions.reject_case(
            db,
            report("M03006", "小区内部广告牌 / sign inside a private estate"),
            actor=disp,
            reason="属小区物业管理范围 / managed by the estate",
        ),
        lambda: actions.suspend_case(
            db,
            actions.register_case(
                db, report("M05002", "公房地下室积水 / flooded basement"), actor=disp
            ),
            actor=disp,
            reason="需列入年度维修计划 / needs the yearly repair budget",
        ),
        lambda: _summoned(
            db,
            report("G02001", "商铺冒烟 / smoke from a shop", source=CaseSource.HOTLINE),
            disp,
            cg,
        ),
        lambda: actions.escalate_case(
            db,
            report("M05003", "加油站旁占道经营 / stalls by the petrol station"),
            actor=leader,
            note="超出网格处置能力 / beyond the grid",
        ),
    ]
    made = 0
    for step in steps:
        try:
            step()
            made += 1
        except CivgridError:  # a demo step that no longer fits the data is skipped, not fatal
            db.rollback()
    return made


def _dispatched(db: Session, case: Case, disp: User) -> None:
    actions.register_case(db, case, actor=disp)
    actions.dispatch_case(db, case, actor=disp)


def _closed(db: Session, case: Case, who: User, handled, worker: User, disp: User) -> None:  # type: ignore[no-untyped-def]
    handled(case, who)
    actions.verify_case(db, case, actor=worker, passed=True)
    actions.close_case(db, case, actor=disp, outcome="烟头收集器已更换 / ash bin replaced")
    actions.evaluate_case(db, case, actor=disp, rating=5, comment="电话回访满意")


def _self_handled(db: Session, case: Case, worker: User, photo) -> None:  # type: ignore[no-untyped-def]
    after = photo(case, worker, AttachmentKind.AFTER)
    actions.self_handle_case(
        db,
        case,
        actor=worker,
        note="已督促房东配置灭火器 / landlord fitted one",
        attachment_ids=[after],
    )


def _summoned(db: Session, case: Case, disp: User, cg: User) -> None:
    actions.register_case(db, case, actor=disp)
    rows = actions.summon_departments(
        db,
        case,
        actor=disp,
        departments=["DG-SJ-XF", "DG-SJ-CG", "DG-SJ-SJ"],
        note="吹哨报到：商铺冒烟 / summons: smoke from a shop",
    )
    cg_row = next(r for r in rows if r.department_code == "DG-SJ-CG")
    actions.acknowledge_summons(db, cg_row, actor=cg, note="已到场 / on site")


HISTORY_HANDLERS = {"DG-SJ-CG": "handler", "DG-SJ-HW": "sanitation"}  # others: admin


def load_demo_history(
    db: Session, *, days: int = 400, per_day: float = 10.0, seed: int = 20
) -> int:
    """About 13 months of the township's cases, written in bulk as the actions would.

    Skipped when a case older than ``days`` − 30 days exists (the history is there).
    Supervisors report and verify across the township, the demo worker in their own village;
    each department's handler handles.
    """
    import random
    from datetime import timedelta

    from civgrid.cases import history
    from civgrid.cases.service import routing_suggestion
    from civgrid.db.base import utcnow

    now = utcnow()
    old = now - timedelta(days=days - 30)  # other demo loaders write a few months back only
    if db.scalar(select(Case.id).where(Case.reported_at < old).limit(1)):
        return 0
    users = {u.username: u for u in db.scalars(select(User))}
    cast = history.Cast(users)
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    places = _history_places(db, rng)
    probe_village = DEMO_VILLAGE
    categories: list[tuple[int, float]] = []
    handlers: dict[int, str] = {}
    for category in db.scalars(
        select(Category)
        .where(Category.is_published, Category.is_active, Category.is_major_emergency.is_(False))
        .order_by(Category.code)
    ):
        if category.code[-3:] not in ("001", "002", "003", "005"):
            continue
        dept = routing_suggestion(db, Case(category_id=category.id, division_code=probe_village))
        if dept is None:
            continue
        categories.append((category.id, rng.uniform(0.3, 3.0)))
        handlers[category.id] = HISTORY_HANDLERS.get(dept.code, "admin")
    scripts = list(
        history.plan_history(
            rng,
            start=now - timedelta(days=days),
            end=now - timedelta(hours=1),
            places=places,
            categories=categories,
            per_day=per_day,
            departments=handlers,
            self_handle=frozenset(handlers),
        )
    )
    return history.write_bulk(db, scripts, cast, demo_photo((90, 140, 60)))


def _history_places(db: Session, rng) -> list:  # type: ignore[no-untyped-def]
    """A few points in every current grid of the township: its worker's village or others."""
    from civgrid.cases.history import Place

    places = []
    for grid in db.scalars(
        select(Grid).where(Grid.code.startswith(DEMO_VILLAGE[:9]), Grid.valid_to.is_(None))
    ):
        shape = from_text(grid.geometry)
        minx, miny, maxx, maxy = shape.bounds
        own = grid.village_code == DEMO_VILLAGE
        for _ in range(6):
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if shape.contains(p):
                reporter = "worker" if own else "supervisor"
                places.append(Place(round(p.x, 6), round(p.y, 6), reporter, own))
    return places
