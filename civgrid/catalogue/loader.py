"""Loading the catalogue from the data files (idempotent): national list, grid service items,
English names and the default handling limits."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.audit.actions import record
from civgrid.auth.models import User
from civgrid.calendar.limits import parse_time_limit
from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.models import Category, CategoryKind, Stage, TimeLimit

DATA = Path(__file__).resolve().parent.parent / "data" / "catalogue"
STANDARD = "GB/T 47678.5-2026"
# Service items about one person or household (health, civil affairs, labour, disputes, help,
# complaints about staff): never published, whatever the case's outcome.
PRIVATE_MAJORS = frozenset({"G05", "G06", "G13", "G15", "G16", "G17"})


@dataclass
class LoadResult:
    inserted: int = 0
    updated: int = 0
    time_limits: int = 0
    matched_example_limits: int = 0


def pinyin_keywords(*texts: str) -> str:
    """Full pinyin and initials, so that "ljdf" and "lajiduifang" find 垃圾堆放."""
    words = []
    for text in texts:
        words.append("".join(lazy_pinyin(text)))
        words.append("".join(lazy_pinyin(text, style=Style.FIRST_LETTER)))
    return " ".join(w for w in words if w)


def _english_names() -> dict[str, str]:
    """English names of the national rows and major classes, keyed by civgrid code (C01, M06001)."""
    with (DATA / "names_en.csv").open(encoding="utf-8") as fh:
        return {r["code"]: r["name_en"] for r in csv.DictReader(fh)}


def _national_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    english = _english_names()
    with (DATA / "gbt47678_5_2026.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            component = r["kind"] == "component"
            code = ("C" if component else "M") + r["code"]
            major_code = ("C" if component else "M") + r["major_code"]
            rows.append(
                {
                    "code": code,
                    "kind": CategoryKind.COMPONENT if component else CategoryKind.MATTER,
                    "major_code": major_code,
                    "major_name_zh": r["major_name"],
                    "major_name_en": english.get(major_code, ""),
                    "name_zh": r["name"],
                    "name_en": english.get(code, ""),
                    "standard_ref": f"{STANDARD} {'A.1' if component else 'C.1'} {r['code']}",
                    "keywords": pinyin_keywords(r["name"]),
                    "is_major_emergency": False,
                }
            )
    return rows


def _service_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with (DATA / "grid_service_items.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append(
                {
                    "code": r["code"],
                    "kind": CategoryKind.SERVICE_ITEM,
                    "major_code": r["code"][:3],
                    "major_name_zh": r["major_zh"],
                    "major_name_en": r["major_en"],
                    "name_zh": r["name_zh"],
                    "name_en": r["name_en"],
                    "standard_ref": "civgrid grid service items",
                    "keywords": f"{r['keywords']} {pinyin_keywords(r['name_zh'], r['keywords'])}",
                    "is_major_emergency": r["major_emergency"] == "1",
                    "is_staff_complaint": r["code"].startswith("G17"),
                    "is_private": r["code"][:3] in PRIVATE_MAJORS,
                }
            )
    return rows


def _example_limits() -> dict[str, tuple[float, TimeUnit, str]]:
    """Matter code → the example city's first (most urgent) handling condition for it.

    The example uses the older GB/T 30428.2 subclasses; ``time_limits_mapping.csv`` maps them
    onto the new matter codes (same name, or renamed in the new standard).
    """
    first: dict[str, tuple[float, TimeUnit, str]] = {}
    with (DATA / "time_limits_example.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["minor_name"] not in first:
                amount, unit = parse_time_limit(r["time_limit"])
                first[r["minor_name"]] = (amount, unit, r["filing_condition"])
    limits: dict[str, tuple[float, TimeUnit, str]] = {}
    with (DATA / "time_limits_mapping.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["matter_code"]:
                limits[r["matter_code"]] = first[r["example_name"]]
    return limits


def load_catalogue(db: Session, *, actor: User | None = None) -> LoadResult:
    """Load or refresh the national list and the grid service items (idempotent).

    Names and references follow the files, except names an admin has edited
    (``names_edited``); an admin's flags (published, active, emergency) are kept on reload.
    """
    result = LoadResult()
    existing = {c.code: c for c in db.scalars(select(Category))}
    for row in [*_national_rows(), *_service_rows()]:
        category = existing.get(str(row["code"]))
        if category is None:
            db.add(Category(**row))
            result.inserted += 1
            continue
        changed = False
        keys = ["major_name_zh", "major_name_en", "standard_ref"]
        if not category.names_edited:
            keys += ["name_zh", "name_en", "keywords"]
        for key in keys:
            if getattr(category, key) != row[key]:
                setattr(category, key, row[key])
                changed = True
        result.updated += changed
    db.flush()
    result.time_limits, result.matched_example_limits = _load_default_limits(db)
    record(db, "catalogue.load", actor=actor, object_type="catalogue", detail=result.__dict__)
    db.commit()
    return result


def _load_default_limits(db: Session) -> tuple[int, int]:
    """Handling limits from the example city for the matters its subclasses map onto."""
    have = {(t.category_id, t.stage) for t in db.scalars(select(TimeLimit))}
    added = matched = 0
    examples = _example_limits()
    for category in db.scalars(select(Category).where(Category.kind == CategoryKind.MATTER)):
        found = examples.get(category.code)
        if found is None:
            continue
        matched += 1
        if (category.id, Stage.HANDLE) not in have:
            amount, unit, condition = found
            db.add(
                TimeLimit(
                    category_id=category.id,
                    stage=Stage.HANDLE,
                    amount=amount,
                    unit=unit,
                    condition=condition,
                )
            )
            added += 1
    return added, matched
