"""An urban component's photo (部件照片): set it on the component's page or by the API, fetch its
thumbnail or EXIF-free copy. Checked and stored like a case attachment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.cases.attachments import FORMATS, Rendition, check_image, path_for
from civgrid.config import get_settings
from civgrid.db.session import get_db, get_page_db
from civgrid.errors import CivgridError, NotFound
from civgrid.ledger import actions
from civgrid.ledger.models import Component, LedgerKind
from civgrid.ledger.routes import _record, detail_context, out
from civgrid.web.i18n import localized, request_locale
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1/ledger/components", tags=["ledger"], responses=AUTHENTICATED)
pages = APIRouter(prefix="/ledger/components", include_in_schema=False)

DB = Annotated[Session, Depends(get_db)]
PageDB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]
COMPONENTS = LedgerKind.COMPONENTS


def _set_photo(db: Session, user: User, record_id: int, data: bytes) -> Component:
    component = _record(db, user, COMPONENTS, record_id, "change")
    return actions.set_component_photo(db, component, check_image(data), actor=user)


@api.post("/{record_id:int}/photo")
async def upload_photo(
    request: Request, db: DB, user: Staff, record_id: int, file: UploadFile
) -> dict[str, Any]:
    """Set or replace the component's photo (JPEG, PNG or WebP; the size limit of attachments).
    A bad file answers 422 with ``message`` in the caller's language; nothing is changed."""
    data = await file.read(get_settings().attachment_max_bytes + 1)
    try:
        component = await run_in_threadpool(_set_photo, db, user, record_id, data)
    except CivgridError as exc:
        raise localized(exc, request_locale(request)) from None
    return out(COMPONENTS, component) | {"photo": component.photo}


@api.get("/{record_id:int}/photo")
def photo(
    db: DB, user: Staff, record_id: int, rendition: Rendition = Rendition.THUMB
) -> FileResponse:
    """The component's photo: ``thumb`` (default), ``public`` (both without EXIF) or the
    ``original``."""
    component = _record(db, user, COMPONENTS, record_id)
    sha256 = component.photo_sha256
    if sha256 is None:
        raise NotFound(f"component {record_id} has no photo")
    ext = component.photo.rsplit(".", 1)[1]
    fmt, content_type = next((f, ct) for f, (ct, e) in FORMATS.items() if e == ext)
    path = path_for(sha256, rendition, fmt)
    if not path.exists():
        raise NotFound("the stored file is missing")
    if rendition == Rendition.THUMB:
        content_type = "image/jpeg"
    return FileResponse(path, media_type=content_type)


@pages.post("/{record_id:int}/photo")
async def photo_form(
    request: Request, db: PageDB, user: Staff, record_id: int, file: UploadFile
) -> Response:
    """The component page's photo form: back to the page, or the page saying why not."""
    data = await file.read(get_settings().attachment_max_bytes + 1)
    try:
        await run_in_threadpool(_set_photo, db, user, record_id, data)
    except CivgridError as exc:
        if isinstance(exc, NotFound):
            raise
        db.rollback()
        ctx = detail_context(db, user, COMPONENTS, record_id) | {"error": exc}
        return render(request, "ledger/detail.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/ledger/components/{record_id}#h-photo", status_code=303)
