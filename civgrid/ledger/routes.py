"""Ledger HTTP: JSON API under /api/v1/ledger, pages under /ledger (thin: actions do the work)."""

from __future__ import annotations

import io
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.db.session import get_db, get_page_db
from civgrid.errors import CivgridError, Invalid, NotFound
from civgrid.grids.models import Grid
from civgrid.ledger import actions, service
from civgrid.ledger.exporter import export_file, write_template
from civgrid.ledger.geometry import as_geojson
from civgrid.ledger.importer import MAX_BYTES, import_rows, read_table, write_error_workbook
from civgrid.ledger.models import MODELS, LedgerKind, Unit
from civgrid.ledger.schemas import COLUMNS, LicenceSheet, Sheet
from civgrid.web.i18n import N_, request_locale
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1/ledger", tags=["ledger"], responses=AUTHENTICATED)
pages = APIRouter(prefix="/ledger", include_in_schema=False)

DB = Annotated[Session, Depends(get_db)]
PageDB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]
Territory = Annotated[str, Query(pattern=r"^\d{0,15}$", description="grid or division code")]
MAX_ID = 2**31 - 1
# A longitude or latitude in decimal degrees (a map's west edge may pass -180 when it wraps).
_DEGREES = r"-?\d{1,3}(\.\d{1,20})?"
BBox = Annotated[
    str,
    Query(pattern=rf"^{_DEGREES}(,{_DEGREES}){{3}}$", description="west,south,east,north"),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {
    ".xlsx": XLSX,
    ".csv": "text/csv; charset=utf-8",
    ".gpkg": "application/geopackage+sqlite3",
}


def out(kind: LedgerKind, row: Any) -> dict[str, Any]:
    """A record as JSON: its columns, grid, version and whether it is retired."""
    data = {
        c.field: as_geojson(getattr(row, c.field))
        if c.geometry
        else actions.jsonable(getattr(row, c.field))
        for c in COLUMNS[kind]
    }
    return data | {
        "id": row.id,
        "grid_code": row.grid_code,
        "version": row.version,
        "retired": row.retired_at is not None,
    }


def _record(db: Session, user: User, kind: LedgerKind, record_id: int, action: str = "view") -> Any:
    if not 0 < record_id <= MAX_ID:  # beyond an INTEGER column: no such row, not a 500
        raise NotFound(f"{kind.value} {record_id} not found")
    return scope.get_for(db, user, MODELS[kind], record_id, action)


@api.get("/{kind}")
def list_records(
    db: DB,
    user: Staff,
    kind: LedgerKind,
    territory: Territory = "",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> dict[str, Any]:
    """One page of a kind's current records in the caller's grids (search by any part)."""
    rows, total = service.ledger_page(db, kind, user, territory=territory, q=q, page=page)
    return {"total": total, "page": page, "items": [out(kind, r) for r in rows]}


@api.get("/{kind}/layer")
def layer(
    db: DB,
    user: Staff,
    kind: LedgerKind,
    bbox: BBox,
) -> dict[str, Any]:
    """The map layer of a kind in a box: points, or server-side clusters above 2,000."""
    west, south, east, north = (float(v) for v in bbox.split(","))
    if west >= east or south >= north:
        raise Invalid("bbox must be west,south,east,north")
    return service.map_layer(db, kind, user, (west, south, east, north))


@api.get("/{kind}/{record_id:int}")
def get_record(db: DB, user: Staff, kind: LedgerKind, record_id: int) -> dict[str, Any]:
    """One record and its history."""
    row = _record(db, user, kind, record_id)
    history = service.record_history(db, kind, row.id)
    return out(kind, row) | {
        "history": [
            {
                "version": h.version,
                "action": h.action,
                "by": h.actor_label,
                "at": h.at.isoformat(),
                "changes": h.changes,
            }
            for h in history
        ]
    }


@api.post("/{kind}", status_code=201)
def add(
    db: DB, user: Staff, kind: LedgerKind, cells: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Add a record (cells by field name, as in the template)."""
    return out(kind, actions.add_record(db, kind, cells, actor=user))


@api.patch("/{kind}/{record_id:int}")
def correct(
    db: DB,
    user: Staff,
    kind: LedgerKind,
    record_id: int,
    cells: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Correct a record; send the ``version`` you read, to refuse a lost update."""
    row = _record(db, user, kind, record_id, "change")
    version = cells.pop("version", None)
    return out(kind, actions.correct_record(db, kind, row, cells, actor=user, version=version))


@api.post("/{kind}/{record_id:int}/retire")
def retire(
    db: DB, user: Staff, kind: LedgerKind, record_id: int, reason: Annotated[str, Body(embed=True)]
) -> dict[str, Any]:
    """Retire (注销) a record; it stays, with its history."""
    row = _record(db, user, kind, record_id, "change")
    return out(kind, actions.retire_record(db, kind, row, actor=user, reason=reason))


# --- files ---------------------------------------------------------------------------------


def sheet_model(kind: Sheet) -> type[Any]:
    """The table whose scope rules a sheet's files: the kind's, or units' for licences."""
    return Unit if isinstance(kind, LicenceSheet) else MODELS[kind]


def list_kind(kind: Sheet) -> LedgerKind:
    """The list page a sheet's import returns to (licences: the units)."""
    return LedgerKind.UNITS if isinstance(kind, LicenceSheet) else kind


def template_response(kind: Sheet) -> Response:
    buf = io.BytesIO()
    write_template(kind, buf)
    name = f"ledger-{kind.value}-template.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(buf.getvalue(), media_type=XLSX, headers=headers)


def export_response(db: Session, user: User, kind: Sheet, territory: str, fmt: str) -> Response:
    scope.check_role(user, sheet_model(kind), "view")
    suffix = "." + fmt
    if suffix not in MEDIA:
        raise Invalid(N_("export to .xlsx, .csv or .gpkg"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"ledger-{kind.value}-{territory or 'all'}{suffix}"
        export_file(db, kind, path, territory=territory, user=user)
        body = path.read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="{path.name}"'}
    return Response(body, media_type=MEDIA[suffix], headers=headers)


async def import_upload(
    db: Session, user: User, kind: Sheet, upload: UploadFile, locale: str
) -> Response:
    """Import an uploaded file (all or nothing); bad rows answer 422 with the error workbook."""
    suffix = Path(upload.filename or "").suffix.lower()
    data = await upload.read(MAX_BYTES + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        header, raw = await run_in_threadpool(read_table, path)
    result = await run_in_threadpool(import_rows, db, kind, header, raw, actor=user)
    if result.ok:
        counts = {
            "rows": result.rows,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        return JSONResponse(counts)
    buf = io.BytesIO()
    write_error_workbook(result, buf, locale)
    headers = {
        "Content-Disposition": f'attachment; filename="ledger-{kind.value}-errors.xlsx"',
        "X-Import-Errors": str(len(result.errors)),
    }
    return Response(buf.getvalue(), status_code=422, media_type=XLSX, headers=headers)


@api.get("/{kind}/template.xlsx")
def template_api(user: Staff, kind: Sheet) -> Response:
    """The import template of a kind, or of the licences sheet (``licences``)."""
    return template_response(kind)


@api.get("/{kind}/export/{fmt}")
def export_api(db: DB, user: Staff, kind: Sheet, fmt: str, territory: Territory = "") -> Response:
    """A kind's records (or ``licences``: units' current licences) in a grid or division, as
    xlsx, csv or gpkg (only the caller's grids)."""
    return export_response(db, user, kind, territory, fmt)


@api.post("/{kind}/import")
async def import_api(
    request: Request, db: DB, user: Staff, kind: Sheet, file: UploadFile
) -> Response:
    """Import an .xlsx or .csv of a kind or of ``licences``; 422 with the error workbook if any
    row is bad."""
    return await import_upload(db, user, kind, file, request_locale(request))


# --- pages ---------------------------------------------------------------------------------


@pages.get("")
def list_page(
    request: Request,
    db: PageDB,
    user: Staff,
    kind: LedgerKind = LedgerKind.DWELLINGS,
    territory: Territory = "",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """A ledger list with search and filters per grid or village."""
    rows, total = service.ledger_page(db, kind, user, territory=territory, q=q, page=page)
    grids = db.scalars(
        scope.restrict(select(Grid).where(Grid.valid_to.is_(None)), user, "view").order_by(
            Grid.code
        )
    ).all()
    ctx = {
        "nav": "ledger",
        "kind": kind,
        "kinds": list(LedgerKind),
        "columns": COLUMNS[kind],
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // service.PAGE)),
        "territory": territory,
        "q": q,
        "grids": grids,
        "imported": request.query_params.get("imported", ""),
    }
    return render(request, "ledger/list.html", ctx)


@pages.get("/map")
def map_page(request: Request, user: Staff, kind: LedgerKind = LedgerKind.UNITS) -> Response:
    """The map layer of a kind (clustered by the server when dense)."""
    scope.check_role(user, MODELS[kind], "view")
    return render(
        request, "ledger/map.html", {"nav": "ledger", "kind": kind, "kinds": list(LedgerKind)}
    )


@pages.get("/grids/{code}")
def grid_page(request: Request, db: PageDB, user: Staff, code: str) -> Response:
    """A grid's ledger: filed and ledger household counts and their difference, the book."""
    from civgrid.inspections.service import inspection_counts

    grid = grid_for(db, user, code)
    counts = {k: service.ledger_page(db, k, user, territory=grid.code)[1] for k in LedgerKind}
    ctx = {
        "nav": "ledger",
        "grid": grid,
        "figures": service.household_figures(db, grid),
        "counts": counts,
        "inspections": inspection_counts(db, territory=grid.code),
    }
    return render(request, "ledger/grid.html", ctx)


@pages.get("/grids/{code}/book.pdf")
def book_page(db: PageDB, user: Staff, code: str) -> Response:
    """The grid book as a PDF download."""
    from datetime import datetime

    from civgrid.config import get_settings
    from civgrid.ledger.book import build_book

    grid = grid_for(db, user, code)
    today = datetime.now(get_settings().tz).date()
    pdf = build_book(db, grid, today=today, user=user)
    headers = {"Content-Disposition": f'attachment; filename="grid-book-{grid.code}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@pages.get("/{kind}/{record_id:int}")
def detail_page(
    request: Request, db: PageDB, user: Staff, kind: LedgerKind, record_id: int
) -> Response:
    """A record, its history, and the forms to correct or retire it."""
    return render(request, "ledger/detail.html", detail_context(db, user, kind, record_id))


def local_today() -> date:
    from civgrid.config import get_settings

    return datetime.now(get_settings().tz).date()


def detail_context(db: Session, user: User, kind: LedgerKind, record_id: int) -> dict[str, Any]:
    """What the detail page shows: the record, its history, inspections and licences."""
    from civgrid.inspections.service import records_of
    from civgrid.ledger.models import LicenceKind

    row = _record(db, user, kind, record_id)
    return {
        "nav": "ledger",
        "kind": kind,
        "row": row,
        "columns": COLUMNS[kind],
        "history": service.record_history(db, kind, row.id),
        "inspections": records_of(db, kind, row.id),
        "licence_kinds": list(LicenceKind),
        "today": local_today(),
        "error": None,
    }


@pages.post("/{kind}/{record_id:int}")
async def correct_page(
    request: Request, db: PageDB, user: Staff, kind: LedgerKind, record_id: int
) -> Response:
    """The correction form (or the retire form, with ``retire_reason``)."""
    form = await request.form()
    cells = {c.field: form[c.field] for c in COLUMNS[kind] if c.field in form and c.field != "code"}
    return await run_in_threadpool(_correct, request, db, user, kind, record_id, cells, dict(form))


def _correct(
    request: Request,
    db: Session,
    user: User,
    kind: LedgerKind,
    record_id: int,
    cells: dict[str, Any],
    form: dict[str, Any],
) -> Response:
    row = _record(db, user, kind, record_id, "change")
    try:
        if "retire_reason" in form:
            actions.retire_record(db, kind, row, actor=user, reason=str(form["retire_reason"]))
        else:
            version = int(str(form.get("version") or 0)) or None
            actions.correct_record(db, kind, row, cells, actor=user, version=version)
    except CivgridError as exc:
        db.rollback()
        ctx = detail_context(db, user, kind, record_id) | {"error": exc}
        return render(request, "ledger/detail.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/ledger/{kind.value}/{record_id}", status_code=303)


@pages.get("/{kind}/template.xlsx")
def template_page(user: Staff, kind: Sheet) -> Response:
    return template_response(kind)


@pages.get("/{kind}/export.{fmt}")
def export_page(
    db: PageDB, user: Staff, kind: Sheet, fmt: str, territory: Territory = ""
) -> Response:
    return export_response(db, user, kind, territory, fmt)


@pages.post("/{kind}/import")
async def import_page(
    request: Request, db: PageDB, user: Staff, kind: Sheet, file: UploadFile
) -> Response:
    """Import from the list page: back to the list, or the error workbook to download."""
    try:
        response = await import_upload(db, user, kind, file, request_locale(request))
    except Invalid as exc:  # the whole file refused: say why, in the user's language
        ctx = {"nav": "ledger", "kind": list_kind(kind), "error": exc}
        return render(request, "ledger/import_refused.html", ctx, status_code=exc.status_code)
    if response.status_code == 200:
        back = list_kind(kind).value
        return RedirectResponse(f"/ledger?kind={back}&imported=1", status_code=303)
    return response


def grid_for(db: Session, user: User, code: str) -> Grid:
    grid = db.scalar(
        scope.restrict(select(Grid).where(Grid.code == code, Grid.valid_to.is_(None)), user, "view")
    )
    if grid is None:
        raise NotFound(f"grid {code} not found")
    return grid
