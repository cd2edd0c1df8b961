"""Demo disputes at each tier: grid, village, an agreement at the township, a referral."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.care.service import local_today
from civgrid.grids.models import Grid
from civgrid.mediation import actions
from civgrid.mediation.models import Dispute, DisputeKind
from civgrid.mediation.transitions import Referral, SessionOutcome

VILLAGE = "441900101002"


def load_demo_mediation(db: Session) -> int:
    """Disputes through the real actions (once); parties are invented names."""
    if db.scalar(select(func.count()).select_from(Dispute)):
        return 0
    users = {u.username: u for u in db.scalars(select(User))}
    worker, leader, disp = users.get("worker"), users.get("leader"), users.get("dispatcher")
    grid = db.scalar(
        select(Grid)
        .where(Grid.village_code == VILLAGE, Grid.valid_to.is_(None))
        .order_by(Grid.code)
    )
    if worker is None or leader is None or disp is None or grid is None:
        return 0
    today = local_today()

    def new(kind: DisputeKind, summary: str, a: str, b: str) -> Dispute:
        parties = [actions.Party(a, "0769-00000101"), actions.Party(b, "0769-00000102")]
        return actions.create_dispute(
            db, actor=worker, kind=kind, summary=summary, parties=parties, territory_code=grid.code
        )

    new(DisputeKind.NEIGHBOUR, "楼上空调滴水到楼下阳台", "甲（示例）", "乙（示例）")
    village = new(DisputeKind.PROPERTY, "物业管理费收费标准争议", "丙（示例）", "示例物业公司")
    actions.escalate_dispute(
        db, village.id, actor=worker, reason="网格调解未达成一致", mediator=leader
    )
    agreed = new(DisputeKind.LABOUR, "装修工人工资被拖欠三个月", "丁（示例）", "示例装修队")
    actions.escalate_dispute(db, agreed.id, actor=worker, reason="涉及金额较大", mediator=leader)
    actions.escalate_dispute(db, agreed.id, actor=leader, reason="需要劳动部门参与", mediator=disp)
    actions.hold_session(
        db,
        agreed.id,
        actor=disp,
        held_on=today,
        place="石碣镇矛盾纠纷调解中心",
        outcome=SessionOutcome.AGREEMENT,
        attendees="丁（示例）、示例装修队负责人",
        terms="示例装修队于十五日内一次性支付拖欠工资人民币12000元。",
    )
    referred = new(DisputeKind.LAND, "宅基地边界争议", "戊（示例）", "己（示例）")
    actions.escalate_dispute(db, referred.id, actor=worker, reason="双方各执一词", mediator=leader)
    actions.escalate_dispute(db, referred.id, actor=leader, reason="需要镇调解中心", mediator=disp)
    actions.hold_session(
        db,
        referred.id,
        actor=disp,
        held_on=today,
        place="石碣镇矛盾纠纷调解中心",
        outcome=SessionOutcome.FAILURE,
    )
    actions.refer_dispute(
        db, referred.id, actor=disp, to=Referral.COURT, reason="调解不成，建议诉讼"
    )
    return 4
