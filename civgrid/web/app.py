"""The application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send
from xstatic.pkg import leaflet

from civgrid.auth.deps import optional_user
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.aio import open_pools
from civgrid.db.session import get_db
from civgrid.errors import CivgridError, NotFound
from civgrid.web import guards
from civgrid.web.headers import API_REFERENCE, SWAGGER_CDN, SecurityHeaders
from civgrid.web.responses import api_errors
from civgrid.web.templating import PACKAGE_DIR, render

base = APIRouter()


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(
        ("/api/", "/open311/")
    ) and "text/html" in request.headers.get("accept", "")


async def _civgrid_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, CivgridError):  # pragma: no cover  (registered for CivgridError only)
        raise exc
    if exc.status_code == 401 and _wants_html(request):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if _wants_html(request):
        return render(request, "web/error.html", {"error": exc}, status_code=exc.status_code)
    if request.url.path.startswith("/open311/"):  # every Open311 error in the GeoReport format
        return guards.error_response(request, exc.status_code, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
    if exc.status_code == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    # ErrorBody (civgrid.web.responses): the values of the message come along, but never in
    # place of its ``detail`` or ``code`` (a category's ``code=`` is not the error's code).
    body = {**jsonable_encoder(exc.detail), "detail": exc.message, "code": exc.code}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        raise exc
    if _wants_html(request):
        error = CivgridError(exc.detail)
        error.status_code = exc.status_code
        response = render(request, "web/error.html", {"error": error}, status_code=exc.status_code)
        response.headers.update(exc.headers or {})
        return response
    return await guards.http_error(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": errors, "code": "invalid"}, status_code=422)


@base.get(
    "/healthz",
    tags=["meta"],
    responses={503: {"description": "The database does not answer"}, **api_errors()},
)
def healthz(db: Session = Depends(get_db)) -> JSONResponse:
    """Liveness and database check."""
    try:
        db.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any database failure makes us unhealthy)
        return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": db.get_bind().dialect.name})


@base.get("/", include_in_schema=False)
def home(request: Request, user: User | None = Depends(optional_user)) -> Response:
    from civgrid.desk.service import landing_for

    # After login each staff role lands on its own page (see civgrid.desk); residents and
    # visitors land on the portal.
    if user is None:
        return RedirectResponse("/portal", status_code=303)
    target = landing_for(user)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "web/home.html")


@base.get(API_REFERENCE, include_in_schema=False)
def api_reference(request: Request) -> Response:
    """Swagger UI over our OpenAPI document, started by a script file (no inline script)."""
    return render(
        request, "web/api_reference.html", {"cdn": f"{SWAGGER_CDN}/npm/swagger-ui-dist@5"}
    )


class _CookieSessions(SessionMiddleware):
    """Starlette's signed-cookie sessions, for browsers; none for bearer-token API calls nor
    for Open311.

    A request with an ``Authorization`` header is authenticated by it alone (``optional_user``),
    and Open311 (``/open311/``) by its API key: either gets an empty session that is never sent
    back. The cookie is neither read nor written, and the response is not wrapped (a
    measurable cost per intake).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"].startswith("/open311/")
            or any(k == b"authorization" for k, _ in scope["headers"])
        ):
            scope["session"] = {}
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _not_here(request: Request) -> Exception:
    """404, or 405 with ``Allow`` when the address exists for other methods.

    Starlette answers 405 itself with the methods of the first route it finds for the path
    only; a path is often several routes (GET, POST …), and other methods reach the fallback:
    here every route is asked, for every method.
    """
    routes = [
        r for r in request.app.router.routes if getattr(r, "endpoint", None) not in _FALLBACKS
    ]
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    if allowed:
        return StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
    return NotFound("This page does not exist")


def unknown_address(
    path: str, request: Request, user: User | None = Depends(optional_user)
) -> Response:
    """GET: through the user's session like any page, so that a browser gets the 404 page with
    its menu (API clients get JSON)."""
    raise _not_here(request)


def unknown_address_unsafe(path: str, request: Request) -> Response:
    """Other methods: no session, whose CSRF check would hide the 404 or 405 behind a 403."""
    raise _not_here(request)


_FALLBACKS = (unknown_address, unknown_address_unsafe)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work while serving: the case sweep (never under CIVGRID_ENV=test)."""
    settings = get_settings()
    # Sync routes and dependencies run in this many threads at most; fewer threads contend less
    # for the GIL under load (see docs/benchmarks.md, case intake).
    to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
    tasks = []
    if settings.sweep_in_process and settings.env != "test" and settings.sweep_interval_seconds > 0:
        from civgrid.cases.sweep import run_periodically

        tasks.append(asyncio.create_task(run_periodically(settings.sweep_interval_seconds)))
    # What exists once the app is built (modules, routes, the ORM's mappers …) lives as long as
    # the process: kept out of every later garbage collection, which then has far less to scan
    # (the case-intake p99 halved, docs/benchmarks.md). Not under tests, which build many apps.
    if settings.env != "test":
        gc.collect()
        gc.freeze()
    pools = open_pools(app)
    yield
    for task in tasks:
        task.cancel()
    await pools.close()


class _App(FastAPI):
    """FastAPI with the security headers outermost: on every response, a 500 included."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), get_settings())


def create_app() -> FastAPI:
    """Build the civgrid web application."""
    settings = get_settings()
    app = _App(
        title="civgrid",
        summary="Grid-based community service management (网格化服务管理)",
        version="0.1.0",
        # /docs is our own page (api_reference); ReDoc needs inline styles, which the
        # Content-Security-Policy refuses (civgrid.web.headers).
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.add_middleware(
        _CookieSessions,
        secret_key=settings.secret_key,
        session_cookie="civgrid_session",
        same_site="lax",
        https_only=settings.env == "production",
        max_age=12 * 3600,
    )
    app.add_exception_handler(CivgridError, _civgrid_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for unexpected in (StatementError, OverflowError, Exception):  # civgrid.web.guards
        app.add_exception_handler(unexpected, guards.unexpected)
    app.add_middleware(guards.RequestGuard)
    app.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "web" / "static"), name="static")
    for router in _routers():
        app.include_router(router)
    # Last: what no route matched (404), or matched for other methods only (405 with Allow).
    app.add_api_route("/{path:path}", unknown_address, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/{path:path}", unknown_address_unsafe, methods=list(_METHODS[1:]), include_in_schema=False
    )
    return app


def _routers() -> list[APIRouter]:
    from civgrid.auth import routes as auth_routes
    from civgrid.board import routes as board_routes
    from civgrid.calendar import routes as calendar_routes
    from civgrid.care import routes as care_routes
    from civgrid.cases import routes as case_routes
    from civgrid.cases import routes_actions as case_action_routes
    from civgrid.catalogue import routes as catalogue_routes
    from civgrid.departments import routes as department_routes
    from civgrid.desk import routes as desk_routes
    from civgrid.desk import routes_field as desk_field_routes
    from civgrid.desk import routes_intake as desk_intake_routes
    from civgrid.directory import routes as directory_routes
    from civgrid.divisions import routes as division_routes
    from civgrid.figures import routes as figure_routes
    from civgrid.grids import routes as grid_routes
    from civgrid.inspections import plan_pages as inspection_plan_pages
    from civgrid.inspections import routes as inspection_routes
    from civgrid.ledger import routes as ledger_routes
    from civgrid.ledger import routes_licences as licence_routes
    from civgrid.ledger import routes_photos as component_photo_routes
    from civgrid.mediation import routes as mediation_routes
    from civgrid.notices import routes as notice_routes
    from civgrid.open311 import routes as open311_routes
    from civgrid.planning import routes as planning_routes
    from civgrid.portal import routes as portal_routes
    from civgrid.workforce import admin_pages as workforce_admin
    from civgrid.workforce import pages as workforce_pages
    from civgrid.workforce import routes as workforce_routes

    # Routes are matched in this order, one by one, every route of every router before the
    # one that matches (FastAPI does not skip a router by its prefix): the two intakes, the
    # case API and Open311, which take the most requests, come first. No route before the
    # fallback shares a path with them, so the order changes no answer.
    return [
        case_routes.api,
        open311_routes.router,
        case_action_routes.router,
        base,
        auth_routes.router,
        auth_routes.api,
        division_routes.api,
        department_routes.api,
        calendar_routes.api,
        catalogue_routes.api,
        catalogue_routes.pages,
        desk_routes.router,
        desk_field_routes.router,
        desk_intake_routes.router,
        grid_routes.api,
        grid_routes.pages,
        licence_routes.api,
        licence_routes.pages,
        ledger_routes.api,
        ledger_routes.pages,
        component_photo_routes.api,
        component_photo_routes.pages,
        inspection_routes.api,
        inspection_routes.pages,
        inspection_plan_pages.pages,
        inspection_plan_pages.checklist_pages,
        planning_routes.api,
        planning_routes.pages,
        open311_routes.admin,
        portal_routes.router,
        board_routes.router,
        directory_routes.router,
        workforce_routes.api,
        workforce_pages.pages,
        workforce_admin.admin,
        figure_routes.pages,
        figure_routes.api,
        care_routes.router,
        mediation_routes.router,
        notice_routes.router,
    ]
