"""Resident portal pages (mobile-first, no account): report, follow, add information, rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from civgrid.cases.attachments import Rendition, rendition_file
from civgrid.cases.public import public_attachment
from civgrid.db.session import get_page_db
from civgrid.errors import NotFound

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(get_page_db, scope="function")]


def _photo(db: Session, attachment_id: int, rendition: Rendition) -> Response:
    att = public_attachment(db, attachment_id)
    path, content_type = rendition_file(att, rendition)
    if not path.exists():
        raise NotFound(f"photo {attachment_id} not found")
    return FileResponse(
        path, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/portal/photos/{attachment_id}")
def photo(attachment_id: int, db: DB) -> Response:
    """A public case's photo: the EXIF-free copy, never the original upload."""
    return _photo(db, attachment_id, Rendition.PUBLIC)


@router.get("/portal/photos/{attachment_id}/thumb")
def photo_thumb(attachment_id: int, db: DB) -> Response:
    """A public case's photo as an EXIF-free thumbnail."""
    return _photo(db, attachment_id, Rendition.THUMB)
