"""The workforce demo on the served demo site: patrols, training, meetings, appraisal."""

from __future__ import annotations

from sqlalchemy import func, select

from civgrid.auth.models import User
from civgrid.workforce.models import (
    Appraisal,
    ExamResult,
    GridMeeting,
    Patrol,
    PatrolDay,
    PatrolState,
)


def test_the_demo_has_a_week_of_patrols_meetings_and_an_appraisal(demo_site) -> None:  # type: ignore[no-untyped-def]
    with demo_site.sessions() as db:
        worker = db.scalar(select(User).where(User.username == "worker"))
        assert worker.field_cleared
        patrols = db.scalars(select(Patrol).where(Patrol.user_id == worker.id)).all()
        assert len(patrols) == 7
        assert all(
            p.state == PatrolState.CLOSED and p.distance_m > 1000 and p.stops for p in patrols
        )
        assert all(p.inside_s > 0 for p in patrols)
        days = db.scalars(select(PatrolDay).where(PatrolDay.user_id == worker.id)).all()
        assert sum(d.seconds >= 4 * 3600 for d in days) >= 5
        assert (
            db.scalar(
                select(func.count()).select_from(ExamResult).where(ExamResult.user_id == worker.id)
            )
            == 2
        )
        assert (
            db.scalar(
                select(func.count())
                .select_from(GridMeeting)
                .where(GridMeeting.held_at.is_not(None))
            )
            >= 1
        )
        assert db.scalar(select(Appraisal.total).where(Appraisal.user_id == worker.id)) is not None
