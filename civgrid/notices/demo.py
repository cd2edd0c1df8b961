"""Demo notices in 城中社区: a public service notice and a staff policy notice."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.notices import actions
from civgrid.notices.models import Notice, NoticeKind, TargetKind

VILLAGE = "441900101002"


def load_demo_notices(db: Session) -> int:
    if db.scalar(select(func.count()).select_from(Notice)):
        return 0
    leader = db.scalar(select(User).where(User.username == "leader"))
    if leader is None:
        return 0
    actions.publish_notice(
        db,
        actor=leader,
        kind=NoticeKind.SERVICE,
        title="城中社区周六停水检修通知",
        body="本周六8:00至12:00，城中社区示例街一带停水检修，请居民提前储水。",
        targets=[(TargetKind.VILLAGE, VILLAGE)],
        public=True,
    )
    actions.publish_notice(
        db,
        actor=leader,
        kind=NoticeKind.POLICY,
        title="关于做好独居老人冬季走访的通知",
        body="各网格员本月内完成独居老人走访一次，重点检查取暖和用电安全。",
        targets=[(TargetKind.VILLAGE, VILLAGE)],
        public=False,
    )
    return 2
