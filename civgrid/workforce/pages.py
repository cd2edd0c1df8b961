"""Workforce pages: the field patrol, patrol lists and replay, the monthly table (thin)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.base import utcnow
from civgrid.db.session import get_page_db
from civgrid.errors import Forbidden
from civgrid.web.templating import render
from civgrid.workforce import service
from civgrid.workforce.clearance import FIELD_ROLES
from civgrid.workforce.models import Patrol
from civgrid.workforce.patrols import local_day

pages = APIRouter(include_in_schema=False)

DB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]


@pages.get("/field/patrol")
def patrol_page(
    request: Request,
    user: Staff,
    db: DB,
    every: Annotated[int, Query(ge=1, le=120)] = 10,
) -> Response:
    """Start and end my patrol; the phone records and uploads positions while it is open."""
    if user.role not in FIELD_ROLES:
        raise Forbidden("patrols are for grid workers and leaders")
    ctx = {
        "nav": "patrol",
        "open": service.open_patrol(db, user),
        "mine": service.patrols(db, user, worker_id=user.id)[:10],
        "every": every,
        "batch": 60,
        "keep_days": get_settings().patrol_points_keep_days,
    }
    return render(request, "workforce/patrol.html", ctx)


@pages.get("/workforce/patrols")
def patrols_page(
    request: Request,
    user: Staff,
    db: DB,
    day: date | None = None,
    month: Annotated[str, Query(pattern=r"^(\d{4}-\d{2})?$")] = "",
) -> Response:
    """The day's patrols in my territory, and the month's table against the daily rule."""
    scope.check_role(user, Patrol, "view")
    day = day or local_day(utcnow())
    month = month or day.strftime("%Y-%m")
    rows = service.patrols(db, user, day=day)
    ctx = {
        "nav": "patrols",
        "day": day,
        "month": month,
        "rows": rows,
        "table": service.month_table(db, user, month=date.fromisoformat(month + "-01")),
        "names": service.names(db, {p.user_id for p in rows}),
    }
    return render(request, "workforce/patrols.html", ctx)


@pages.get("/workforce/patrols/{patrol_id}/replay")
def replay_page(patrol_id: int, request: Request, user: Staff, db: DB) -> Response:
    """Replay a patrol on the map."""
    patrol = service.patrol_for(db, user, patrol_id)
    worker = db.get(User, patrol.user_id)
    return render(
        request, "workforce/replay.html", {"patrol": patrol, "worker": worker, "nav": "patrols"}
    )
