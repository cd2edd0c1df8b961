"""Demo care households (invented names), with consent records and visits, in 城中社区."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.actions import create_user
from civgrid.auth.models import Role, ScopeKind, User
from civgrid.care import actions
from civgrid.care.models import CareEnrolment, CareGroup, Consenter, VisitOutcome
from civgrid.care.service import local_today
from civgrid.grids.models import Grid

VILLAGE = "441900101002"
# Invented people; the contacts are obviously fake numbers.
HOUSEHOLDS = [
    (
        "陈伯（示例）",
        "城中社区示例街1号",
        "0769-00000001",
        CareGroup.ELDERLY_ALONE,
        "行动不便，需要助餐",
    ),
    ("林姨（示例）", "城中社区示例街5号", "0769-00000002", CareGroup.DISABLED, "轮椅出入不便"),
    ("何家（示例）", "城中社区示例巷3号", "0769-00000003", CareGroup.LOW_INCOME, "子女上学困难"),
]


def _civil_affairs_user(db: Session, password: str) -> None:
    """A civil-affairs handler who sees the households the office is responsible for."""
    if db.scalar(select(User).where(User.username == "civil")) is None:
        create_user(
            db,
            username="civil",
            password=password,
            role=Role.DEPT_HANDLER,
            display_name="民政 孙芳",
            scopes=[(ScopeKind.DEPARTMENT, "DG-SJ-MZ")],
            actor=None,
        )


def load_demo_care(db: Session, password: str) -> int:
    """Enrol the demo households through the real actions (once)."""
    if db.scalar(select(func.count()).select_from(CareEnrolment)):
        return 0
    _civil_affairs_user(db, password)
    worker = db.scalar(select(User).where(User.username == "worker"))
    grid = db.scalar(
        select(Grid)
        .where(Grid.village_code == VILLAGE, Grid.valid_to.is_(None))
        .order_by(Grid.code)
    )
    if worker is None or grid is None:
        return 0
    today = local_today()
    for i, (name, address, contact, group, needs) in enumerate(HOUSEHOLDS):
        consent = actions.Consent(
            consenter=Consenter.GUARDIAN if i == 2 else Consenter.PERSON,
            guardian_name="何先生（示例）" if i == 2 else "",
            given_on=today - timedelta(days=40 + i),
            data_kept="姓名、住址、联系方式、服务需求",
            services="定期探访、结对帮扶",
            who_may_see="网格员、网格长、镇社会事务局",
        )
        e = actions.enrol(
            db,
            actor=worker,
            group=group,
            grid_code=grid.code,
            person=actions.Person(name, address, contact, needs),
            consent=consent,
            visit_every_days=14 if i == 0 else 30,
        )
        actions.record_visit(
            db,
            e.id,
            actor=worker,
            visited_on=today - timedelta(days=20 - i),
            outcome=VisitOutcome.MET,
            note="身体状况良好",
        )
    return len(HOUSEHOLDS)
