"""Whether the desk's lists may have changed, told by a few index probes before any list is read.

The command center refreshes every minute per dispatcher; its answer is a 304 unless a list
could show something else. What the lists show depends only on:

- the cases in the user's scope: every action stamps the case's ``updated_at``
  (``civgrid.cases.engine``), so a case entering the open set (reported, reopened), changing,
  or leaving it (closed, voided, merged) moves the newest ``updated_at`` of the scope's cases;
- the clock: a light turns yellow at ``yellow_at`` and red after ``due_at``, so the earliest
  of each still ahead of ``now`` changes as soon as one of them passes;
- the grids' names (each adjustment files a ``GridVersion``), and who asks, in which language.

A territorial scope (prefixes of ``territory_code``, which a case keeps from its report on)
holds a case for good, closed ones included: the newest change is one backward step of
``ix_cases_updated_territory`` and the next light change one forward step of an open-case
deadline index, whatever the number of open cases. A department's scope loses the cases
dispatched elsewhere, which the newest change need not show: with departments the tag also
counts the open cases in scope (one aggregate over ``ix_cases_open_territory_summary``).

``updated_at`` is stamped before the action commits, so a change can become visible after a
newer one was already seen: while the newest change is younger than ``SETTLE`` the tag says
so, and the first refresh after that answers in full (a stale list lasts at most ``SETTLE``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases.models import Case, open_case
from civgrid.cases.service import scoped
from civgrid.grids.models import GridVersion

# Longer than any action takes from its ``utcnow()`` to its commit, plus the app servers'
# clock skew.
SETTLE = timedelta(seconds=60)


def open_cases_state(db: Session, user: User, now: datetime) -> tuple[Any, ...]:
    """What the cases in ``user``'s scope add up to at ``now``, in one statement."""

    def one(value: ColumnElement[Any], *where: ColumnElement[bool]) -> Any:
        return scoped(select(value).where(*where), user, "view").scalar_subquery()

    parts = [
        one(func.max(Case.updated_at)),
        one(func.min(Case.due_at), open_case(), Case.due_at > now),
        one(func.min(Case.yellow_at), open_case(), Case.yellow_at > now),
        select(func.max(GridVersion.id)).scalar_subquery(),
    ]
    if scope.Jurisdiction.of(user).departments:
        parts.append(one(func.count(), open_case()))
    changed, *rest = db.execute(select(*parts)).one()
    settled = changed is None or changed <= now - SETTLE
    return (changed, *rest, settled)


def refresh_tag(db: Session, user: User, locale: str, now: datetime) -> str:
    """A weak ETag that changes whenever the user's desk lists could show something else."""
    j = scope.Jurisdiction.of(user)
    who = (user.id, user.role, j.everywhere, sorted(j.codes), sorted(j.departments), locale)
    state = open_cases_state(db, user, now)
    digest = hashlib.sha256(repr((who, state)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'
