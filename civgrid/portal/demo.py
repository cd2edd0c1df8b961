"""Demo reports from residents through the portal, at several stages (idempotent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.cases import actions
from civgrid.cases.attachments import check_image
from civgrid.cases.demo import DEMO_VILLAGE, demo_photo, demo_points
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.catalogue.service import get_category
from civgrid.errors import CivgridError
from civgrid.grids.models import Grid
from civgrid.portal import actions as portal

# (category, description, how far staff have taken it, public outcome)
REPORTS = [
    (
        "M06010",
        "小区北门外暴露垃圾，已经好几天没人清 / rubbish outside the north gate",
        "closed",
        "已清运并加密巡查频次 / cleared; patrols more often",
    ),
    (
        "M01001",
        "人行道井盖松动，踩上去会晃 / loose manhole cover on the pavement",
        "closed",
        "已更换井盖并加固 / cover replaced and fixed",
    ),
    (
        "M06042",
        "垃圾站满溢，气味很大 电话13912345678 / overflowing refuse station",
        "dispatched",
        "",
    ),
    ("M01037", "路灯不亮，晚上很黑 / street light out", "registered", ""),
    ("G15001", "楼上漏水到我家，协商无果 / water leaking from upstairs", "registered", ""),
]


def load_demo_portal(db: Session) -> int:
    """Residents' reports in the demo village, and one complaint; none when some exist."""
    if db.scalar(select(Case.id).where(Case.source == CaseSource.PORTAL).limit(1)):
        return 0
    users = {u.username: u for u in db.scalars(select(User))}
    points = demo_points(db, 12 + len(REPORTS))[12:]
    made = 0
    for (code, text, stage, outcome), (lon, lat) in zip(REPORTS, points, strict=True):
        try:
            receipt = portal.submit_report(
                db,
                category_id=get_category(db, code).id,
                lon=lon,
                lat=lat,
                description=text,
                contact=actions.Contact(),
                images=[check_image(demo_photo((150, 110, 70)))],
            )
            case = db.scalar(select(Case).where(Case.number == receipt.number))
            if case is not None:
                _advance(db, case, stage, outcome, users)
            made += 1
        except CivgridError:  # a step that no longer fits the demo data is skipped
            db.rollback()
    grid = db.scalar(select(Grid.code).where(Grid.village_code == DEMO_VILLAGE).limit(1))
    if grid:
        portal.submit_complaint(
            db,
            grid_code=grid,
            description="网格员上门时态度生硬 / the grid worker was rude on a visit",
            contact=actions.Contact(),
        )
        made += 1
    return made


def _advance(db: Session, case: Case, stage: str, outcome: str, users: dict[str, User]) -> None:
    disp, hw, worker = users["dispatcher"], users["sanitation"], users["worker"]
    actions.register_case(db, case, actor=disp)
    if stage == "registered":
        return
    actions.dispatch_case(db, case, actor=disp, department="DG-SJ-HW")
    if stage == "dispatched":
        return
    actions.accept_case(db, case, actor=hw)
    after = actions.attach_photo(
        db, case, actor=hw, data=demo_photo((70, 150, 90)), kind=AttachmentKind.AFTER
    )
    actions.handle_case(db, case, actor=hw, feedback=outcome, attachment_ids=[after.id])
    actions.verify_case(db, case, actor=worker, passed=True)
    actions.close_case(db, case, actor=disp, outcome=outcome)
