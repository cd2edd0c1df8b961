"""Login, logout, tokens and user administration (thin: the work is in actions and scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civgrid.auth import actions, scope
from civgrid.auth.deps import client_ip, csrf_token, current_user, optional_user, verify_csrf
from civgrid.auth.models import User
from civgrid.auth.schemas import TokenOut, UserCreate, UserOut
from civgrid.db.session import get_db
from civgrid.errors import CivgridError, Forbidden
from civgrid.web.responses import api_errors
from civgrid.web.templating import render

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["auth"], responses=api_errors(401, 403, 404, 409, 422, 429))


@api.post("/auth/token", response_model=TokenOut)
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: Session = Depends(get_db),
) -> TokenOut:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    user = actions.authenticate(db, form.username, form.password, ip=client_ip(request))
    value, row = actions.issue_token(db, user, ip=client_ip(request))
    return TokenOut(access_token=value, expires_at=row.expires_at)


@api.get("/me", response_model=UserOut)
def me(user: User = Depends(current_user)) -> User:
    return user


@api.get("/users", response_model=list[UserOut])
def list_users(user: User = Depends(current_user), db: Session = Depends(get_db)) -> list[User]:
    """Users inside the caller's jurisdiction (admins and duty chiefs)."""
    query = scope.restrict(select(User).order_by(User.username), user, "view")
    return list(db.scalars(query))


@api.get("/users/{user_id}", response_model=UserOut)
def get_user(
    user_id: int, user: User = Depends(current_user), db: Session = Depends(get_db)
) -> User:
    return scope.get_for(db, user, User, user_id)


@api.post("/users", response_model=UserOut, status_code=201)
def create_user(
    body: UserCreate,
    request: Request,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> User:
    """Create a user; an admin may only grant scopes inside their own jurisdiction."""
    scope.check_role(user, User, "add")
    j = scope.Jurisdiction.of(user)
    for s in body.scopes:
        if s.kind in ("division", "grid") and not j.covers_code(s.ref):
            raise Forbidden(f"scope {s.kind} {s.ref} is outside your jurisdiction")
        if s.kind == "all" and not j.everywhere:
            raise Forbidden("only a national administrator may grant scope 'all'")
    return actions.create_user(
        db,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        employment=body.employment,
        work_phone=body.work_phone,
        scopes=[(s.kind, s.ref) for s in body.scopes],
        actor=user,
        ip=client_ip(request),
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "auth/login.html", {"next": next, "csrf": csrf_token(request)})


@router.post("/login", include_in_schema=False)
async def login_submit(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    db: Session = Depends(get_db),
) -> Response:
    await verify_csrf(request)
    try:
        user = actions.authenticate(db, username, password, ip=client_ip(request))
    except CivgridError as exc:
        ctx = {
            "next": next,
            "csrf": csrf_token(request),
            "error": exc.message,
            "username": username,
        }
        return render(request, "auth/login.html", ctx, status_code=exc.status_code)
    request.session.clear()
    request.session["sid"] = actions.start_session(db, user)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return RedirectResponse(target, status_code=303)


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request, user: User | None = Depends(optional_user), db: Session = Depends(get_db)
) -> Response:
    await verify_csrf(request)
    key = request.session.get("sid")
    if key:
        await run_in_threadpool(
            actions.end_session, db, str(key), actor=user, ip=client_ip(request)
        )
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
