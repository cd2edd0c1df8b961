"""Licences (证照) of units: add, renew and retire them on the unit page or by the API, and the
licences expiring within 30 days per grid (page and API)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.session import get_db, get_page_db
from civgrid.errors import CivgridError, Invalid
from civgrid.ledger import actions, service
from civgrid.ledger.models import LedgerKind, LicenceKind, Unit, UnitLicence
from civgrid.ledger.routes import MAX_ID, Territory, _record
from civgrid.text import is_digits
from civgrid.web.i18n import N_
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1", tags=["ledger"], responses=AUTHENTICATED)
pages = APIRouter(include_in_schema=False)

DB = Annotated[Session, Depends(get_db)]
PageDB = Annotated[Session, Depends(get_page_db, scope="function")]
Staff = Annotated[User, Depends(current_user)]
Days = Annotated[int, Query(ge=0, le=366)]


class LicenceIn(BaseModel):
    kind: LicenceKind
    number: str = Field(min_length=1, max_length=60)
    issuer: str = Field("", max_length=100)
    expires_on: date | None = None


def licence_out(lic: UnitLicence, unit: Unit | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": lic.id,
        "kind": lic.kind.value,
        "number": lic.number,
        "issuer": lic.issuer,
        "expires_on": lic.expires_on.isoformat() if lic.expires_on else None,
        "main": lic.is_main,
        "retired": lic.retired_at is not None,
    }
    if unit is not None:
        data |= {"unit_id": unit.id, "unit_code": unit.code, "unit_name": unit.name}
        data["grid_code"] = unit.grid_code
    return data


def _today() -> date:
    return datetime.now(get_settings().tz).date()


@api.get("/ledger/units/{unit_id:int}/licences")
def unit_licences(db: DB, user: Staff, unit_id: int) -> list[dict[str, Any]]:
    """A unit's licences, retired ones too."""
    unit = _record(db, user, LedgerKind.UNITS, unit_id)
    return [licence_out(lic) for lic in unit.licences]


@api.post("/ledger/units/{unit_id:int}/licences", status_code=201)
def add_licence(db: DB, user: Staff, unit_id: int, body: LicenceIn) -> dict[str, Any]:
    """Add a licence to a unit, or renew one (same kind and number)."""
    unit = _record(db, user, LedgerKind.UNITS, unit_id, "change")
    lic = actions.add_licence(db, unit, **body.model_dump(), actor=user)
    return licence_out(lic)


@api.post("/ledger/units/{unit_id:int}/licences/{licence_id:int}/retire")
def retire_licence(db: DB, user: Staff, unit_id: int, licence_id: int) -> dict[str, Any]:
    """Retire one licence of a unit (it stays in the history)."""
    unit = _record(db, user, LedgerKind.UNITS, unit_id, "change")
    if not 0 < licence_id <= MAX_ID:
        raise Invalid("no such licence")
    return licence_out(actions.retire_licence(db, unit, licence_id, actor=user))


@api.get("/licences/expiring")
def expiring(
    db: DB, user: Staff, territory: Territory = "", days: Days = service.EXPIRING_DAYS
) -> list[dict[str, Any]]:
    """Licences expiring within ``days`` (30) or already expired, in the caller's grids."""
    rows = service.expiring_licences(db, user, today=_today(), territory=territory, days=days)
    return [licence_out(lic, unit) for lic, unit in rows]


@pages.get("/licences/expiring")
def expiring_page(
    request: Request, db: PageDB, user: Staff, territory: Territory = "", days: Days = 30
) -> Response:
    """The licences to renew soon, by grid."""
    today = _today()
    rows = service.expiring_licences(db, user, today=today, territory=territory, days=days)
    grids: dict[str, list[tuple[UnitLicence, Unit]]] = {}
    for lic, unit in rows:
        grids.setdefault(unit.grid_code, []).append((lic, unit))
    ctx = {"nav": "ledger", "grids": grids, "today": today, "days": days, "territory": territory}
    return render(request, "ledger/expiring.html", ctx)


@pages.post("/ledger/units/{unit_id:int}/licences")
async def add_licence_page(request: Request, db: PageDB, user: Staff, unit_id: int) -> Response:
    """The unit page's licence form (add, renew, or retire with ``retire``)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await run_in_threadpool(_licence_form, request, db, user, unit_id, form)


def _licence_form(
    request: Request, db: Session, user: User, unit_id: int, form: dict[str, str]
) -> Response:
    unit = _record(db, user, LedgerKind.UNITS, unit_id, "change")
    try:
        if is_digits(form.get("retire", "")):
            actions.retire_licence(db, unit, int(form["retire"][:10]), actor=user)
        else:
            try:
                body = LicenceIn(
                    kind=form.get("kind") or "general",  # type: ignore[arg-type]
                    number=form.get("number", "").strip(),
                    issuer=form.get("issuer", "").strip(),
                    expires_on=form.get("expires_on") or None,  # type: ignore[arg-type]
                )
            except ValueError:
                msg = N_("check the licence: kind, number and a date like 2027-06-30")
                raise Invalid(msg) from None
            actions.add_licence(db, unit, **body.model_dump(), actor=user)
    except CivgridError as exc:
        db.rollback()
        from civgrid.ledger.routes import detail_context

        ctx = detail_context(db, user, LedgerKind.UNITS, unit_id) | {"error": exc}
        return render(request, "ledger/detail.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/ledger/units/{unit_id}#h-licences", status_code=303)
