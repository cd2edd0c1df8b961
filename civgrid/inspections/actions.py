"""Changes to inspections: load and edit checklist templates, add plans, submit a record.

A submitted record with failed items opens one case per failed item (source: inspection)
through the normal intake action, ``report_case``, linked to the place and the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth import scope
from civgrid.auth.models import User
from civgrid.cases.actions.intake import plan_report, write_report
from civgrid.cases.attachments import CheckedImage, add_photos, store_image
from civgrid.cases.engine import Step
from civgrid.cases.models import AttachmentKind, Case, CaseSource
from civgrid.catalogue.models import Category
from civgrid.db.base import utcnow
from civgrid.errors import Conflict, Invalid
from civgrid.inspections import service as _scoped  # noqa: F401  (registers the scope)
from civgrid.inspections.checklists import TEMPLATES
from civgrid.inspections.models import (
    ChecklistItem,
    ChecklistTemplate,
    InspectionPhoto,
    InspectionPlan,
    InspectionRecord,
    InspectionResult,
    ItemResult,
)
from civgrid.ledger.models import MODELS, LedgerKind
from civgrid.text import is_digits
from civgrid.web.i18n import N_

MAX_NOTE = 1000
MAX_PHOTOS_PER_ITEM = 3
MAX_PHOTOS = 10  # per record


def load_templates(db: Session, *, actor: User | None = None) -> int:
    """Add the shipped checklist templates that are missing (admins' edits are kept)."""
    have = set(db.scalars(select(ChecklistTemplate.code)))
    added = 0
    for t in TEMPLATES:
        if t.code in have:
            continue
        template = ChecklistTemplate(
            code=t.code,
            name_zh=t.name_zh,
            name_en=t.name_en,
            service_item=t.service_item,
            target_kind=t.target,
        )
        template.items = [
            ChecklistItem(
                position=i,
                text_zh=item.text_zh,
                text_en=item.text_en,
                pass_rule_zh=item.rule_zh,
                pass_rule_en=item.rule_en,
                category_code=item.category,
                limit_amount=item.amount,
                limit_unit=item.unit,
            )
            for i, item in enumerate(t.items, start=1)
        ]
        db.add(template)
        added += 1
    if added:
        record(db, "inspection.templates_loaded", actor=actor, detail={"added": added})
    db.commit()
    return added


def edit_item(
    db: Session, item: ChecklistItem, *, actor: User, version: int, **fields: Any
) -> ChecklistItem:
    """An admin rewords an item or changes its category or time limit (the template's version
    goes up; records keep pointing at the item they were checked against)."""
    template = scope.get_for(db, actor, ChecklistTemplate, item.template_id, "change")
    if template.version != version:
        raise Conflict(N_("someone else changed this record; reload it and try again"))
    allowed = {
        "text_zh",
        "text_en",
        "pass_rule_zh",
        "pass_rule_en",
        "category_code",
        "limit_amount",
        "is_active",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}")
    if "category_code" in fields and _category(db, fields["category_code"]) is None:
        raise Invalid(N_("unknown category %(code)s"), code=fields["category_code"])
    before = {k: getattr(item, k) for k in fields}
    for key, value in fields.items():
        setattr(item, key, value)
    template.version += 1
    template.updated_at = utcnow()
    record(
        db,
        "inspection.item_edited",
        actor=actor,
        object_type="checklist_item",
        object_id=item.id,
        detail={
            "before": {k: str(v) for k, v in before.items()},
            "after": {k: str(v) for k, v in fields.items()},
        },
    )
    db.commit()
    return item


def add_plan(
    db: Session,
    *,
    template: ChecklistTemplate,
    territory_code: str,
    every_days: int,
    starts_on: date,
    selector: str = "",
    actor: User | None,
) -> InspectionPlan:
    """Plan a checklist for the places of a kind in a grid or division, every N days."""
    if every_days <= 0 or every_days > 3660:
        raise Invalid(N_("the interval must be at least one day"), field="every_days")
    if len(selector) > 40:
        raise Invalid(N_("longer than %(limit)s characters"), limit=40, field="selector")
    if not (is_digits(territory_code) and 6 <= len(territory_code) <= 16):
        raise Invalid(N_("give the code of a grid or a division"), field="territory_code")
    if actor is not None:
        scope.check_role(actor, InspectionPlan, "change")
        if not scope.Jurisdiction.of(actor).covers_code(territory_code):
            raise Invalid(N_("this location is outside your jurisdiction"), field="territory_code")
    plan = InspectionPlan(
        template_id=template.id,
        territory_code=territory_code,
        every_days=every_days,
        starts_on=starts_on,
        selector=selector,
    )
    db.add(plan)
    db.flush()
    record(
        db, "inspection.plan_added", actor=actor, object_type="inspection_plan", object_id=plan.id
    )
    db.commit()
    return plan


def _plan_for_change(db: Session, plan: InspectionPlan, actor: User) -> InspectionPlan:
    # lock the row alone: the plan's joined template would put FOR UPDATE on an outer join
    db.execute(select(InspectionPlan.id).where(InspectionPlan.id == plan.id).with_for_update())
    db.refresh(plan)
    return scope.get_for(db, actor, InspectionPlan, plan.id, "change")


def edit_plan(
    db: Session,
    plan: InspectionPlan,
    *,
    actor: User,
    every_days: int,
    starts_on: date,
    selector: str = "",
) -> InspectionPlan:
    """Change how often a plan's places are inspected, from when, and which of them."""
    if every_days <= 0 or every_days > 3660:
        raise Invalid(N_("the interval must be at least one day"), field="every_days")
    selector = (selector or "").strip()
    if len(selector) > 40:
        raise Invalid(N_("longer than %(limit)s characters"), limit=40, field="selector")
    _plan_for_change(db, plan, actor)
    if not plan.is_active:
        raise Conflict(N_("this plan is retired"))
    before = {
        "every_days": plan.every_days,
        "starts_on": str(plan.starts_on),
        "selector": plan.selector,
    }
    plan.every_days, plan.starts_on, plan.selector = every_days, starts_on, selector
    after = {"every_days": every_days, "starts_on": str(starts_on), "selector": selector}
    record(
        db,
        "inspection.plan_edited",
        actor=actor,
        object_type="inspection_plan",
        object_id=plan.id,
        detail={"before": before, "after": after},
    )
    db.commit()
    return plan


def retire_plan(db: Session, plan: InspectionPlan, *, actor: User) -> InspectionPlan:
    """Retire a plan: nothing more falls due under it; its records stay."""
    _plan_for_change(db, plan, actor)
    if not plan.is_active:
        raise Conflict(N_("this plan is retired"))
    plan.is_active = False
    record(
        db, "inspection.plan_retired", actor=actor, object_type="inspection_plan", object_id=plan.id
    )
    db.commit()
    return plan


@dataclass(frozen=True)
class ItemAnswer:
    item_id: int
    result: ItemResult
    note: str = ""


@dataclass(frozen=True)
class ItemPhoto:
    """A photo for one item of a record, already decoded and checked (``check_image``)."""

    item_id: int
    image: CheckedImage
    filename: str = ""


def _check_photos(
    pairs: list[tuple[ChecklistItem, ItemAnswer]], photos: Sequence[ItemPhoto]
) -> None:
    if len(photos) > MAX_PHOTOS:
        raise Invalid(N_("at most %(n)s photos per inspection"), n=MAX_PHOTOS, field="photos")
    answered = {item.id for item, _ in pairs}
    per_item: dict[int, int] = {}
    for photo in photos:
        if photo.item_id not in answered:
            raise Invalid(
                N_("a photo is for an item that is not on this checklist"), field="photos"
            )
        per_item[photo.item_id] = per_item.get(photo.item_id, 0) + 1
        if per_item[photo.item_id] > MAX_PHOTOS_PER_ITEM:
            raise Invalid(
                N_("at most %(n)s photos per item"), n=MAX_PHOTOS_PER_ITEM, field="photos"
            )


def _category(db: Session, code: str) -> Category | None:
    return db.scalar(select(Category).where(Category.code == code))


def _answers(
    template: ChecklistTemplate, answers: list[ItemAnswer]
) -> list[tuple[ChecklistItem, ItemAnswer]]:
    items = {i.id: i for i in template.items if i.is_active}
    given = {a.item_id: a for a in answers}
    if set(given) != set(items):
        raise Invalid(N_("answer every item of the checklist"), field="results")
    for answer in given.values():
        if len(answer.note) > MAX_NOTE:
            raise Invalid(N_("the note is too long"), field="results")
        if answer.result == ItemResult.FAIL and not answer.note.strip():
            raise Invalid(N_("say what failed in the note"), field=f"item-{answer.item_id}")
    return [(items[i], given[i]) for i in sorted(items)]


def submit_inspection(
    db: Session,
    *,
    template: ChecklistTemplate,
    kind: LedgerKind,
    target_id: int,
    answers: list[ItemAnswer],
    actor: User,
    client_key: str,
    inspected_at: datetime | None = None,
    lon: float | None = None,
    lat: float | None = None,
    note: str = "",
    plan: InspectionPlan | None = None,
    reported_at: datetime | None = None,
    photos: Sequence[ItemPhoto] = (),
) -> InspectionRecord:
    """Record an inspection; each failed item opens a case (source: inspection), its photos
    the case's attachments.

    ``client_key`` comes from the field app's draft: the same draft sent twice is stored once
    (the second call returns the first record, its photos not stored again). The cases are
    reported now, when the record arrives, or at ``reported_at`` (the demo's past inspections).
    Everything is checked, and every case planned, before anything is written.
    """
    client_key = (client_key or "").strip()[:64]
    if not client_key:
        raise Invalid("client_key is required", field="client_key")
    found = db.scalar(select(InspectionRecord).where(InspectionRecord.client_key == client_key))
    if found is not None:
        return found
    if kind != template.target_kind:
        raise Invalid(N_("this checklist is not for this kind of place"), field="template")
    target = scope.get_for(db, actor, MODELS[kind], target_id, "view")
    scope.check_role(actor, InspectionRecord, "change")
    if target.retired_at is not None:
        raise Conflict(N_("this record is already retired"))
    pairs = _answers(template, answers)
    _check_photos(pairs, photos)
    now = utcnow()
    inspected_at = inspected_at or now
    if inspected_at.tzinfo is None or inspected_at > now:
        raise Invalid(N_("the inspection time must be a past, timezone-aware time"))
    failed = [(item, a) for item, a in pairs if a.result == ItemResult.FAIL]
    categories = {item.category_code: _category(db, item.category_code) for item, _ in failed}
    missing = sorted(code for code, cat in categories.items() if cat is None)
    if missing:
        raise Invalid(N_("unknown category %(code)s"), code=", ".join(missing))
    planned = {
        item.id: plan_report(
            db,
            source=CaseSource.INSPECTION,
            category=categories[item.category_code],  # type: ignore[arg-type]
            lon=target.lon,
            lat=target.lat,
            address=getattr(target, "address", "") or target.code,
            description=_case_text(template, item, target, answer.note),
            actor=actor,
            now=reported_at or now,
        )
        for item, answer in failed
    }
    for photo in photos:  # files by content hash: a file left by a failed write is harmless
        store_image(photo.image)
    row = InspectionRecord(
        client_key=client_key,
        template_id=template.id,
        plan_id=plan.id if plan else None,
        target_kind=kind,
        target_id=target.id,
        grid_code=target.grid_code,
        inspector_id=actor.id,
        inspected_at=inspected_at,
        lon=lon,
        lat=lat,
        failed=len(failed),
        note=note.strip()[:MAX_NOTE],
    )
    row.results = [
        InspectionResult(item_id=item.id, result=a.result, note=a.note.strip()) for item, a in pairs
    ]
    row.photos = [
        InspectionPhoto(
            item_id=p.item_id,
            sha256=p.image.sha256,
            content_type=p.image.content_type,
            size=len(p.image.data),
            width=p.image.width,
            height=p.image.height,
            filename=Path(p.filename).name[:200],
            uploaded_by_id=actor.id,
            uploaded_at=now,
        )
        for p in photos
    ]
    db.add(row)
    db.flush()
    record(
        db,
        "inspection.recorded",
        actor=actor,
        object_type="inspection_record",
        object_id=row.id,
        detail={
            "target": f"{kind.value}/{target.id}",
            "failed": len(failed),
            "photos": len(photos),
        },
    )
    if not failed:
        db.commit()
        return row
    # write_report commits: the record is written with the first case, each further case after
    by_item = {r.item_id: r for r in row.results}
    for item_id, new_case in planned.items():
        item_photos = [
            (p, rowp) for p, rowp in zip(photos, row.photos, strict=True) if p.item_id == item_id
        ]

        def extras(
            case: Case, _found: Any, item_id: int = item_id, mine: Any = item_photos
        ) -> None:
            by_item[item_id].case_id = case.id
            if mine:
                step = Step(db, case, actor, now=case.reported_at)
                attached = add_photos(step, [p.image for p, _ in mine], kind=AttachmentKind.BEFORE)
                for (_p, rowp), att in zip(mine, attached, strict=True):
                    rowp.case_attachment_id = att.id

        write_report(db, new_case, extras=extras)
    return row


def _case_text(template: ChecklistTemplate, item: ChecklistItem, target: Any, note: str) -> str:
    name = getattr(target, "name", "") or getattr(target, "address", "") or target.code
    limit = f"{item.limit_amount:g}{item.limit_unit.label_zh}"
    return (
        f"检查不合格 / Inspection failed: {template.name_zh} · {item.text_zh}\n"
        f"{name}（{target.code}）\n{note.strip()}\n整改时限 / time to fix: {limit}"
    )
