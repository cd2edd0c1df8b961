"""Publishing a notice and confirming that one has read it (staff only)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.care.actions import text
from civgrid.cases.public import has_html
from civgrid.db.base import utcnow
from civgrid.divisions.models import Division, DivisionLevel
from civgrid.errors import Invalid, NotFound
from civgrid.grids.models import Grid, NeighbourhoodUnit
from civgrid.notices import service as _scope_rules  # noqa: F401  (registers Notice's rule)
from civgrid.notices.models import Notice, NoticeKind, NoticeReceipt, NoticeTarget, TargetKind
from civgrid.text import is_digits

MAX_TARGETS = 200


def _target(db: Session, actor: User, kind: TargetKind, ref: str) -> NoticeTarget:
    kind, ref = TargetKind(kind), (ref or "").strip()
    code, unit_id = None, None
    if kind == TargetKind.VILLAGE:
        code = db.scalar(
            select(Division.code).where(
                Division.code == ref, Division.level == DivisionLevel.VILLAGE
            )
        )
    elif kind == TargetKind.GRID:
        code = db.scalar(select(Grid.code).where(Grid.code == ref, Grid.valid_to.is_(None)))
    elif is_digits(ref):
        unit = db.get(NeighbourhoodUnit, int(ref))
        if unit is not None:
            code = db.scalar(select(Grid.code).where(Grid.id == unit.grid_id))
            unit_id = unit.id
    if code is None:
        raise Invalid(f"{kind.value} {ref} does not exist", field="targets")
    if not scope.Jurisdiction.of(actor).covers_code(code):
        raise NotFound(f"{kind.value} {ref} not found")
    return NoticeTarget(kind=kind, territory_code=code, unit_id=unit_id)


def publish_notice(
    db: Session,
    *,
    actor: User,
    kind: NoticeKind,
    title: str,
    body: str,
    targets: Sequence[tuple[TargetKind, str]],
    public: bool = False,
) -> Notice:
    """Publish a policy or service notice to villages, grids or neighbourhood units."""
    scope.check_role(actor, Notice, "publish")
    title, body = text(title, "title", limit=200), text(body, "body", limit=10_000)
    if has_html(title) or has_html(body):
        raise Invalid("a notice is plain text, without HTML", field="body")
    if not targets:
        raise Invalid("choose at least one village, grid or unit", field="targets")
    if len(targets) > MAX_TARGETS:
        raise Invalid(f"at most {MAX_TARGETS} areas", field="targets")
    checked = [_target(db, actor, k, r) for k, r in targets]
    notice = Notice(
        kind=NoticeKind(kind),
        title=title,
        body=body,
        is_public=bool(public),
        author_id=actor.id,
        published_at=utcnow(),
        targets=checked,
    )
    db.add(notice)
    db.flush()
    record(db, "notice.publish", actor=actor, object_type="notice", object_id=notice.id)
    db.commit()
    return notice


def confirm_read(db: Session, notice_id: int, *, actor: User) -> NoticeReceipt:
    """A staff member confirms reading a notice (once; again is a no-op)."""
    notice = scope.get_for(db, actor, Notice, notice_id, "view")
    found = db.scalar(
        select(NoticeReceipt).where(
            NoticeReceipt.notice_id == notice.id, NoticeReceipt.user_id == actor.id
        )
    )
    if found is not None:
        return found
    receipt = NoticeReceipt(notice_id=notice.id, user_id=actor.id, read_at=utcnow())
    db.add(receipt)
    db.commit()
    return receipt
