"""Form posts → workflow actions. Nothing here changes a case itself: it reads the form, checks
that the text and photos are usable before anything is written, and calls the action.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases import actions, pending
from civgrid.cases.attachments import CheckedImage, check_image
from civgrid.cases.models import AttachmentKind, Case, CaseSource, CaseSummons
from civgrid.cases.service import covers, get_case_for, summons_of
from civgrid.cases.transitions import CaseAction, allowed_actions, target
from civgrid.catalogue.models import Category
from civgrid.catalogue.service import ensure_assignable_to_grid_worker
from civgrid.errors import CivgridError, Conflict, Invalid
from civgrid.text import is_digits

A = CaseAction


@dataclass(frozen=True)
class FormAction:
    """One action offered as a form on the case page."""

    action: CaseAction
    permission: str  # the scope action the workflow engine checks
    needs: str = ""  # the form field that must not be empty ("reason", "feedback" …)
    photos: bool = False  # the form uploads after-photos


# The order is the order of the forms on the case page.
FORMS: dict[str, FormAction] = {
    "register": FormAction(A.REGISTER, "dispatch"),
    "reject": FormAction(A.REJECT, "dispatch", needs="reason"),
    "dispatch": FormAction(A.DISPATCH, "dispatch"),
    "accept": FormAction(A.ACCEPT, "handle"),
    "return": FormAction(A.RETURN, "handle", needs="reason"),
    "start": FormAction(A.START, "handle"),
    "handle": FormAction(A.HANDLE, "handle", needs="feedback", photos=True),
    "request_extension": FormAction(A.REQUEST_EXTENSION, "handle", needs="reason"),
    "verify": FormAction(A.VERIFY_PASS, "verify", photos=True),
    "approve_extension": FormAction(A.APPROVE_EXTENSION, "dispatch"),
    "deny_extension": FormAction(A.DENY_EXTENSION, "dispatch", needs="reason"),
    "summon": FormAction(A.SUMMON, "dispatch"),
    "escalate": FormAction(A.ESCALATE, "escalate", needs="reason"),
    "suspend": FormAction(A.SUSPEND, "dispatch", needs="reason"),
    "resume": FormAction(A.RESUME, "dispatch"),
    "acknowledge": FormAction(A.ACKNOWLEDGE, "acknowledge"),
    "merge": FormAction(A.MERGE, "dispatch", needs="into"),
    "close": FormAction(A.CLOSE, "dispatch", needs="outcome"),
    "reopen": FormAction(A.REOPEN, "dispatch", needs="reason"),
    "void": FormAction(A.VOID, "dispatch", needs="reason"),
}


def done_action(value: str) -> CaseAction | None:
    """The action that was taken (for the "done" notice after a redirect), from its value."""
    return next((a for a in CaseAction if a.value == value), None)


def _may(user: User, permission: str) -> bool:
    try:
        scope.check_role(user, Case, permission)
    except CivgridError:
        return False
    return True


def pending_summons(user: User, summons: Sequence[CaseSummons]) -> CaseSummons | None:
    """The summons of the user's department on this case still waiting for 报到, if any."""
    departments = scope.Jurisdiction.of(user).departments
    return next(
        (s for s in summons if s.department_code in departments and s.acknowledged_at is None),
        None,
    )


def offered(user: User, case: Case, summons: Sequence[CaseSummons] = ()) -> list[str]:
    """The forms the case page shows: allowed by the transition table and by the user's role."""
    allowed = set(allowed_actions(case.state))
    # a department that is only summoned gets the forms its summons allows
    door = None if covers(user, case) else scope.resource(Case).via["summons"]
    names = []
    for name, form in FORMS.items():
        if form.action not in allowed or not _may(user, form.permission):
            continue
        if door is not None and form.permission not in door:
            continue
        if name in ("approve_extension", "deny_extension") and case.extension_amount is None:
            continue
        if name == "request_extension" and case.extension_amount is not None:
            continue
        if name == "acknowledge" and pending_summons(user, summons) is None:
            continue
        names.append(name)
    return names


def text(form: Any, field: str) -> str:
    value = form.get(field)
    return value.strip() if isinstance(value, str) else ""


async def read_photos(form: Any, field: str = "photos") -> list[tuple[CheckedImage, str]]:
    """Every uploaded file of ``field`` decoded and checked (422 before anything is written)."""
    photos = []
    for upload in form.getlist(field):
        if isinstance(upload, str) or not getattr(upload, "filename", ""):
            continue  # an empty file input
        data = await upload.read()
        photos.append((check_image(data), str(upload.filename)))
    return photos


# The session key and form field of the photos a refused report form keeps (cases.pending).
PENDING = "pending_photos"


async def report_photos(
    session: Any, form: Any
) -> tuple[list[tuple[CheckedImage, str]], CivgridError | None]:
    """The kept photos the form still ticks and the new uploads; a bad upload's error.

    A bad file is left out (the good ones are kept for the form that comes back with its error).
    Kept photos count only under the token of this browser's session.
    """
    photos: list[tuple[CheckedImage, str]] = []
    token = text(form, PENDING)
    if token and token == session.get(PENDING):
        ticked = [int(v) for v in form.getlist("keep_photo") if isinstance(v, str) and is_digits(v)]
        photos = [(img, "") for img in pending.take(token, ticked)]
    error: CivgridError | None = None
    for upload in form.getlist("photos"):
        if isinstance(upload, str) or not getattr(upload, "filename", ""):
            continue
        try:
            photos.append((check_image(await upload.read()), str(upload.filename)))
        except CivgridError as exc:
            error = error or exc
    return photos, error


def keep_photos(session: Any, photos: Sequence[tuple[CheckedImage, str]]) -> dict[str, Any]:
    """A refused report form keeps its checked photos: the template's context for them."""
    drop_photos(session)
    token = pending.keep([img for img, _name in photos])
    if token:
        session[PENDING] = token
    return {
        "pending": token,
        "kept": pending.kept(token),
        "photos_lost": bool(photos) and not token,
    }


def drop_photos(session: Any) -> None:
    """The kept photos went into a report (or are replaced): delete them."""
    token = session.pop(PENDING, None)
    if token:
        pending.discard(str(token))


def attach_all(
    db: Session,
    case: Case,
    user: User,
    photos: list[tuple[CheckedImage, str]],
    kind: AttachmentKind,
) -> list[int]:
    """Attach checked photos through the engine's ``attach_photo``; their ids."""
    return [
        actions.attach_photo(db, case, actor=user, data=img.data, kind=kind, filename=name).id
        for img, name in photos
    ]


def _amount(form: Any) -> float:
    try:
        return float(text(form, "amount"))
    except ValueError:
        raise Invalid("the extension must be a number", field="amount") from None


def run(
    db: Session,
    case: Case,
    user: User,
    name: str,
    form: Any,
    photos: list[tuple[CheckedImage, str]],
) -> CaseAction:
    """Run the workflow action behind form ``name`` on ``case``; returns the action taken."""
    spec = FORMS.get(name)
    if spec is None:
        raise Invalid(f"unknown action {name}")
    if spec.needs and not text(form, spec.needs):
        raise Invalid(f"{spec.needs} is required", field=spec.needs)
    passed = text(form, "result") != "fail"
    if name == "verify" and not passed and not text(form, "note"):
        raise Invalid("say what is still wrong", field="note")
    if name == "handle" and not photos:
        raise Invalid("handling feedback needs at least one photo", field="photos")
    # Ask the transition table first, so that photos are never attached for a refused step.
    target(spec.action, case.state, case.state_before_suspension)
    kind = AttachmentKind.VERIFY if name == "verify" else AttachmentKind.AFTER
    ids = attach_all(db, case, user, photos, kind) if spec.photos else []
    note, reason = text(form, "note"), text(form, "reason")
    calls: dict[str, Callable[[], Any]] = {
        "register": lambda: actions.register_case(db, case, actor=user, note=note),
        "reject": lambda: actions.reject_case(db, case, actor=user, reason=reason),
        "dispatch": lambda: actions.dispatch_case(
            db, case, actor=user, department=text(form, "department") or None, note=note
        ),
        "accept": lambda: actions.accept_case(db, case, actor=user, note=note),
        "return": lambda: actions.return_case(db, case, actor=user, reason=reason),
        "start": lambda: actions.start_case(db, case, actor=user, note=note),
        "handle": lambda: actions.handle_case(
            db, case, actor=user, feedback=text(form, "feedback"), attachment_ids=ids
        ),
        "request_extension": lambda: actions.request_extension(
            db, case, actor=user, amount=_amount(form), reason=reason
        ),
        "verify": lambda: actions.verify_case(
            db, case, actor=user, passed=passed, note=note, attachment_ids=ids
        ),
        "approve_extension": lambda: actions.approve_extension(db, case, actor=user, note=note),
        "deny_extension": lambda: actions.deny_extension(db, case, actor=user, reason=reason),
        "summon": lambda: actions.summon_departments(
            db, case, actor=user, departments=form.getlist("departments"), note=note
        ),
        "escalate": lambda: actions.escalate_case(db, case, actor=user, note=reason),
        "suspend": lambda: actions.suspend_case(db, case, actor=user, reason=reason),
        "resume": lambda: actions.resume_case(db, case, actor=user, note=note),
        "close": lambda: actions.close_case(db, case, actor=user, outcome=text(form, "outcome")),
        "void": lambda: actions.void_case(db, case, actor=user, reason=reason),
        "reopen": lambda: actions.reopen_case(db, case, actor=user, reason=reason),
        "merge": lambda: actions.merge_case(
            db, case, into=get_case_for(db, user, text(form, "into")), actor=user, note=note
        ),
        "acknowledge": lambda: _acknowledge(db, case, user, note),
    }
    calls[name]()
    return A.VERIFY_FAIL if name == "verify" and not passed else spec.action


def _acknowledge(db: Session, case: Case, user: User, note: str) -> None:
    summons = pending_summons(user, summons_of(db, case))
    if summons is None:
        raise Conflict("your department has no summons waiting on this case")
    actions.acknowledge_summons(db, summons, actor=user, note=note)


def report(
    db: Session,
    user: User,
    form: Any,
    photos: list[tuple[CheckedImage, str]],
) -> Case:
    """A grid worker's patrol report (巡查上报), optionally self-handled on the spot (自处置)."""
    try:
        category_id = int(text(form, "category_id"))
    except ValueError:
        raise Invalid("choose a category", field="category_id") from None
    try:
        lon, lat = float(text(form, "lon")), float(text(form, "lat"))
    except ValueError:
        raise Invalid("set the position (locate me, or pin it on the map)", field="lon") from None
    self_handle = text(form, "self_handle") == "1"
    if self_handle:
        category = db.get(Category, category_id)
        if category is None:
            raise Invalid(f"category {category_id} does not exist", field="category_id")
        ensure_assignable_to_grid_worker(category)
        if not text(form, "self_note"):
            raise Invalid("say what you did on the spot", field="self_note")
        if not photos:
            raise Invalid("a self-handled case needs a photo of the result", field="photos")
    case = actions.report_case(
        db,
        source=CaseSource.PATROL,
        category=category_id,
        lon=lon,
        lat=lat,
        description=text(form, "description"),
        address=text(form, "address"),
        actor=user,
    ).case
    kind = AttachmentKind.AFTER if self_handle else AttachmentKind.BEFORE
    ids = attach_all(db, case, user, photos, kind)
    if self_handle:
        actions.self_handle_case(
            db, case, actor=user, note=text(form, "self_note"), attachment_ids=ids
        )
    return case


def _position(form: Any) -> tuple[float, float]:
    """The form's lon/lat, or 422 asking for a position (nothing is written before)."""
    try:
        lon, lat = float(text(form, "lon")), float(text(form, "lat"))
    except ValueError:
        raise Invalid("set the position: search an address or click the map", field="lon") from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise Invalid("set the position: search an address or click the map", field="lon")
    return lon, lat


def phone_report(db: Session, user: User, form: Any) -> Case:
    """A report the command center takes for a caller (12345 hotline or walk-in window)."""
    try:
        source = CaseSource(text(form, "source") or CaseSource.HOTLINE.value)
    except ValueError:
        raise Invalid(
            "a phone report comes from the hotline or the walk-in window", field="source"
        ) from None
    try:
        category_id = int(text(form, "category_id"))
    except ValueError:
        raise Invalid("choose a category", field="category_id") from None
    lon, lat = _position(form)
    contact = actions.Contact(
        phone=text(form, "phone"), email=text(form, "email"), name=text(form, "caller_name")
    )
    return actions.take_call(
        db,
        actor=user,
        source=source,
        category=category_id,
        lon=lon,
        lat=lat,
        description=text(form, "description"),
        contact=contact,
        address=text(form, "address"),
    ).case
