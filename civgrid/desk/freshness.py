"""Whether the desk's lists may have changed, told from one aggregate before any list is read.

The command center refreshes every minute per dispatcher; its answer is a 304 unless a list
could show something else. What the lists show depends only on:

- the open cases in the user's scope: a case enters the set (reported, reopened, moved into
  scope) or changes with a new ``updated_at`` (every action stamps it, ``civgrid.cases.engine``),
  and leaves it (closed, moved out) lowering the count;
- the clock: a light turns yellow at ``yellow_at`` and red after ``due_at``, so the earliest
  of each still ahead of ``now`` changes as soon as one of them passes;
- the grids' names (each adjustment files a ``GridVersion``), and who asks, in which language.

``updated_at`` is stamped before the action commits, so a change can become visible after a
newer one was already seen: while the newest change is younger than ``SETTLE`` the tag says
so, and the first refresh after that answers in full (a stale list lasts at most ``SETTLE``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
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
    """What the open cases in ``user``'s scope add up to at ``now``, in one statement (an
    index-only scan of ``ix_cases_open_territory_summary`` on PostgreSQL)."""
    query = select(
        func.count(),
        func.max(Case.updated_at),
        func.min(Case.due_at).filter(Case.due_at > now),
        func.min(Case.yellow_at).filter(Case.yellow_at > now),
        select(func.max(GridVersion.id)).scalar_subquery(),
    ).where(open_case())
    count, changed, due, yellow, grids = db.execute(scoped(query, user, "view")).one()
    settled = changed is None or changed <= now - SETTLE
    return (count, changed, due, yellow, grids, settled)


def refresh_tag(db: Session, user: User, locale: str, now: datetime) -> str:
    """A weak ETag that changes whenever the user's desk lists could show something else."""
    j = scope.Jurisdiction.of(user)
    who = (user.id, user.role, j.everywhere, sorted(j.codes), sorted(j.departments), locale)
    state = open_cases_state(db, user, now)
    digest = hashlib.sha256(repr((who, state)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'
