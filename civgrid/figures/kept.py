"""Reports generated on schedule and kept, so a past report opens exactly as it was sent.

``civgrid figures send`` (run it from cron every Monday at 07:00 and on the first of each
month) keeps, for every township with cases, last week's report, and on the first days of a
month or quarter the last month's and quarter's: HTML, PDF and XLSX. A report already kept is
never made again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases.models import Case
from civgrid.db.base import utcnow
from civgrid.figures import report as reports
from civgrid.figures.dashboard import FIGURE_ROLES
from civgrid.figures.models import KeptReport
from civgrid.figures.periods import Period, current, tz
from civgrid.figures.units import unit_for

scope.register(
    KeptReport,
    roles={"view": FIGURE_ROLES},
    condition=scope.by_code_prefix(KeptReport.division_code),
)
KEPT_FORMATS = ("html", "pdf", "xlsx")


def due_periods(now: datetime) -> list[Period]:
    """The last complete week, month and quarter before ``now`` (local)."""
    today = now.astimezone(tz()).date()
    out = [current("week", today).previous()]
    out.append(current("month", today).previous())
    out.append(current("quarter", today).previous())
    return out


def townships(db: Session) -> list[str]:
    rows = db.scalars(select(Case.division_code).distinct())
    return sorted({code[:9] for code in rows})


def send(
    db: Session, *, now: datetime | None = None, formats: Sequence[str] = KEPT_FORMATS
) -> list[KeptReport]:
    """Make and keep every due report not kept yet; returns the new ones."""
    now = now or utcnow()
    made = []
    for code in townships(db):
        for period in due_periods(now):
            missing = [
                f
                for f in formats
                if db.scalar(
                    select(KeptReport.id).where(
                        KeptReport.division_code == code,
                        KeptReport.period == period.label,
                        KeptReport.format == f,
                    )
                )
                is None
            ]
            if not missing:
                continue
            figures = reports.build(db, unit_for(db, "township", code), period, now=now)
            for f in missing:
                row = KeptReport(
                    division_code=code,
                    period=period.label,
                    format=f,
                    content=reports.render(figures, f),
                    created_at=now,
                )
                db.add(row)
                made.append(row)
    db.commit()
    return made


def listed(db: Session, user: User) -> list[KeptReport]:
    q = select(KeptReport).order_by(KeptReport.created_at.desc(), KeptReport.id.desc()).limit(300)
    return list(db.scalars(scope.restrict(q, user, "view")))


def get_for(db: Session, user: User, report_id: int) -> KeptReport:
    return scope.get_for(db, user, KeptReport, report_id)
