"""Office pages: users (create, edit, role and scope, deactivate, reactivate, password) and a
grid's staff (leader, deputy, full-time and part-time workers), its units and meetings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import actions as auth_actions
from civgrid.auth import scope
from civgrid.auth.deps import client_ip, current_user
from civgrid.auth.models import Employment, Role, ScopeKind, User
from civgrid.db.session import get_page_db
from civgrid.errors import CivgridError, Invalid
from civgrid.grids.models import Grid, NeighbourhoodUnit, Post
from civgrid.web.templating import render
from civgrid.workforce import actions
from civgrid.workforce.models import GridMeeting
from civgrid.workforce.routes import check_grants

admin = APIRouter(prefix="/workforce", include_in_schema=False)

DB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]


def _scopes(text: str) -> list[tuple[ScopeKind, str]]:
    """Scopes typed one per line as ``kind:ref`` (``all``, ``division:441900101`` …)."""
    out = []
    for line in text.splitlines():
        kind, _, ref = line.strip().partition(":")
        if not kind:
            continue
        try:
            out.append((ScopeKind(kind.strip()), ref.strip()))
        except ValueError:
            raise Invalid(f"unknown scope kind {kind!r}", field="scopes") from None
    return out


def _choice(enum: Any, value: str) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        raise Invalid(f"unknown value {value!r}") from None


def _users_page(request: Request, db: Session, user: User, **extra: Any) -> Response:
    query = scope.restrict(select(User).order_by(User.username), user, "view")
    ctx = {
        "nav": "users",
        "users": db.scalars(query).all(),
        "roles": list(Role),
        "employments": list(Employment),
        "form": {},
        **extra,
    }
    status = extra["error"].status_code if "error" in extra else 200
    return render(request, "workforce/users.html", ctx, status_code=status)


@admin.get("/users")
def users_page(request: Request, user: Staff, db: DB) -> Response:
    """Users in my jurisdiction, and a form to create one."""
    return _users_page(request, db, user)


@admin.post("/users")
async def create_user(request: Request, user: Staff, db: DB) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        scope.check_role(user, User, "add")
        scopes = _scopes(values.get("scopes", ""))
        check_grants(user, [(str(k), r) for k, r in scopes])
        created = auth_actions.create_user(
            db,
            username=values.get("username", "").strip(),
            password=values.get("password", ""),
            role=_choice(Role, values.get("role", "")) or Role.GRID_WORKER,
            display_name=values.get("display_name", "").strip(),
            employment=_choice(Employment, values.get("employment", "")),
            work_phone=values.get("work_phone", "").strip() or None,
            scopes=scopes,
            actor=user,
            ip=client_ip(request),
        )
    except CivgridError as exc:
        db.rollback()
        values.pop("password", None)
        return _users_page(request, db, user, error=exc, form=values)
    return RedirectResponse(f"/workforce/users/{created.id}", status_code=303)


def _user_page(request: Request, target: User, **extra: Any) -> Response:
    ctx = {
        "nav": "users",
        "target": target,
        "roles": list(Role),
        "employments": list(Employment),
        "scope_text": "\n".join(
            f"{s.kind}:{s.ref}" if s.ref else str(s.kind) for s in target.scopes
        ),
        **extra,
    }
    status = extra["error"].status_code if "error" in extra else 200
    return render(request, "workforce/user.html", ctx, status_code=status)


@admin.get("/users/{user_id}")
def user_page(user_id: int, request: Request, user: Staff, db: DB) -> Response:
    target = scope.get_for(db, user, User, user_id, "view")
    return _user_page(request, target)


@admin.post("/users/{user_id}/{what}")
async def change_user(user_id: int, what: str, request: Request, user: Staff, db: DB) -> Response:
    """Edit, deactivate, reactivate or set the password of a user."""
    target = scope.get_for(db, user, User, user_id, "change")
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    ip = client_ip(request)
    try:
        if what == "edit":
            scopes = _scopes(values.get("scopes", ""))
            check_grants(user, [(str(k), r) for k, r in scopes])
            auth_actions.update_user(
                db,
                target,
                display_name=values.get("display_name", "").strip() or None,
                role=_choice(Role, values.get("role", "")),
                employment=_choice(Employment, values.get("employment", "")),
                work_phone=values.get("work_phone", "").strip(),
                scopes=scopes,
                actor=user,
                ip=ip,
            )
        elif what == "deactivate":
            if target.id == user.id:
                raise Invalid("you cannot deactivate yourself")
            auth_actions.deactivate_user(db, target, actor=user, ip=ip)
        elif what == "reactivate":
            auth_actions.reactivate_user(db, target, actor=user, ip=ip)
        elif what == "password":
            auth_actions.set_password(db, target, values.get("password", ""), actor=user, ip=ip)
        else:
            raise Invalid(f"unknown change {what!r}")
    except CivgridError as exc:
        db.rollback()
        return _user_page(request, target, error=exc)
    return RedirectResponse(f"/workforce/users/{target.id}?done={what}", status_code=303)


def _staff_page(request: Request, db: Session, grid: Grid, user: User, **extra: Any) -> Response:
    staff_scope = scope.restrict(select(User).where(User.is_active), user, "view")
    candidates = [u for u in db.scalars(staff_scope.order_by(User.username)) if u.is_staff]
    ctx = {
        "nav": "users",
        "grid": grid,
        "candidates": candidates,
        "posts": list(Post),
        "member_posts": {m.user_id: str(m.post) for m in grid.members},
        "warnings": actions.staffing_warnings(grid),
        "units": db.scalars(
            select(NeighbourhoodUnit)
            .where(NeighbourhoodUnit.grid_id == grid.id, NeighbourhoodUnit.retired_at.is_(None))
            .order_by(NeighbourhoodUnit.name)
        ).all(),
        "meetings": db.scalars(
            select(GridMeeting)
            .where(GridMeeting.grid_id == grid.id)
            .order_by(GridMeeting.week_start.desc())
        ).all(),
        **extra,
    }
    status = extra["error"].status_code if "error" in extra else 200
    return render(request, "workforce/staff.html", ctx, status_code=status)


@admin.get("/grids/{grid_id}")
def staff_page(grid_id: int, request: Request, user: Staff, db: DB) -> Response:
    """A grid's staff with their posts (warning outside 5–7), its units and weekly meetings."""
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    return _staff_page(request, db, grid, user)


@admin.post("/grids/{grid_id}")
async def staff_submit(grid_id: int, request: Request, user: Staff, db: DB) -> Response:
    grid = scope.get_for(db, user, Grid, grid_id, "change")
    form = await request.form()
    try:
        leader = str(form.get("leader_id") or "")
        members = []
        for key, value in form.items():
            if key.startswith("post_") and value:
                members.append((int(key[5:]), _choice(Post, str(value))))
        actions.staff_grid(
            db, grid, leader_id=int(leader) if leader else None, members=members, actor=user
        )
    except (CivgridError, ValueError) as exc:
        db.rollback()
        error = exc if isinstance(exc, CivgridError) else Invalid(str(exc))
        return _staff_page(request, db, grid, user, error=error)
    return RedirectResponse(f"/workforce/grids/{grid.id}?done=staff", status_code=303)
