"""The demo town's ledger, consistent with its generated geometry, and its inspections.

Buildings come from the same generator as the grids; each building's households go to its
dwellings, so the dwellings of every grid add up to the grid's filed count. About 300 units,
about 2,000 components along the streets, inspection plans and three months of records (some
failures, which became cases). Written through the importer (bulk, with history).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import numpy as np
import shapely
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.divisions.models import Division
from civgrid.grids.demo_territory import TOWNSHIP, generate_territory
from civgrid.grids.geo import to_text
from civgrid.grids.models import Grid
from civgrid.grids.service import locate_many
from civgrid.inspections import actions as inspections
from civgrid.inspections.models import ChecklistTemplate, ItemResult
from civgrid.ledger.importer import import_rows
from civgrid.ledger.models import Building, Dwelling, LedgerKind, Unit, UnitKind
from civgrid.ledger.schemas import COLUMNS

BUILDINGS = cast(Table, Building.__table__)
SEED = 21
UNITS = 300
COMPONENTS = 2000
# Components found along streets: manholes, lamps, bins, hydrants, signs, trees, benches …
COMPONENT_CLASSES = (
    "C01001", "C01002", "C01003", "C01004", "C01013", "C01037", "C02012", "C02017",
    "C03005", "C04002", "C04007",
)  # fmt: skip
UNIT_KINDS = (
    (UnitKind.SHOP, 0.3),
    (UnitKind.RESTAURANT, 0.25),
    (UnitKind.THREE_SMALL, 0.15),
    (UnitKind.WORKSHOP, 0.1),
    (UnitKind.WAREHOUSE, 0.05),
    (UnitKind.CLINIC, 0.05),
    (UnitKind.SITE, 0.04),
    (UnitKind.ENTERPRISE, 0.06),
)
# (template code, unit kind or selector, every N days)
PLANS = (
    ("FOOD", "restaurant", 30),
    ("GAS", "restaurant", 90),
    ("FIRE-3SMALL", "three_small", 30),
    ("PRODUCTION-SAFETY", "workshop", 60),
    ("SITE", "site", 14),
    ("RENTAL-SAFETY", "rental", 90),
)
DEMO_VILLAGE = "441900101002"
RECORDED_UNITS = 25  # per checklist: three months of records for these, to keep the load fast


def load_demo_ledger(db: Session, *, today: date | None = None) -> int:
    """Load the ledger and inspections of the demo town; skipped when already there."""
    if db.scalar(select(Dwelling.id).where(Dwelling.grid_code.startswith(TOWNSHIP)).limit(1)):
        return 0
    rng = np.random.default_rng(SEED)
    villages = {
        d.code: d.name for d in db.scalars(select(Division).where(Division.parent_code == TOWNSHIP))
    }
    territory = generate_territory(list(villages))
    buildings = [
        (code, i, b) for code, bs in territory.buildings.items() for i, b in enumerate(bs, 1)
    ]
    _buildings_and_dwellings(db, buildings, villages, rng)
    _balance_households(db)
    _units(db, buildings, rng)
    _components(db, territory.roads, rng)
    inspections.load_templates(db)
    return _plans_and_records(db, rng, today or datetime.now(UTC).date())


def _import(db: Session, kind: LedgerKind, rows: list[dict[str, Any]]) -> None:
    fields = [c.field for c in COLUMNS[kind]]
    raw = [[r.get(f, "") for f in fields] for r in rows]
    result = import_rows(db, kind, fields, raw, actor=None)
    if not result.ok:  # pragma: no cover  (the generator makes valid rows)
        raise RuntimeError(f"demo {kind}: {result.errors[:3]}")


def _buildings_and_dwellings(
    db: Session, buildings: list[Any], villages: dict[str, str], rng: np.random.Generator
) -> None:
    rows, dwellings, footprints = [], [], {}
    for village, i, b in buildings:
        c = b.geometry.centroid
        short = villages[village].removesuffix("居民委员会").removesuffix("村民委员会")
        address = f"{short}{(i - 1) // 20 + 1}巷{i}号"
        code = f"B{village}{i:04d}"
        floors = int(rng.integers(2, 9))
        use = "商住混合" if rng.random() < 0.1 else "住宅"
        rows.append({"code": code, "address": address, "floors": floors, "use": use,
                     "lon": round(c.x, 7), "lat": round(c.y, 7)})  # fmt: skip
        footprints[code] = to_text(b.geometry)
        # the building's households in two entrances (单元), each a dwelling record
        first = b.households // 2
        for n, households in enumerate((first, b.households - first), start=1):
            if households:
                dwellings.append({
                    "code": f"D{village}{i:04d}{n}", "address": f"{address}{n}单元",
                    "building_code": code, "households": households,
                    "is_rental": "是" if rng.random() < 0.2 else "否",
                    "is_vacant": "是" if rng.random() < 0.03 else "否",
                    "lon": round(c.x, 7), "lat": round(c.y, 7),
                })  # fmt: skip
    _import(db, LedgerKind.BUILDINGS, rows)
    _import(db, LedgerKind.ADDRESSES, [_address(r) for r in rows])
    _import(db, LedgerKind.DWELLINGS, dwellings)
    db.execute(
        update(BUILDINGS).where(BUILDINGS.c.code == _bind("b_code")),
        [{"b_code": code, "footprint": text} for code, text in footprints.items()],
    )
    db.commit()


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _address(row: dict[str, Any]) -> dict[str, Any]:
    road, number = row["address"].split("巷")
    return {"code": "A" + row["code"][1:], "road": road + "巷", "number": number,
            "lon": row["lon"], "lat": row["lat"]}  # fmt: skip


def _balance_households(db: Session) -> None:
    """Make each grid's dwellings add up to its filed count (a building on a grid's edge may
    have been counted by the neighbour); the difference goes to the grid's largest dwelling,
    or to a new dwelling at the grid's centre when it has none."""
    ledger = dict(
        db.execute(
            select(Dwelling.grid_code, func.sum(Dwelling.households)).group_by(Dwelling.grid_code)
        ).all()
    )
    for grid in db.scalars(
        select(Grid).where(Grid.code.startswith(TOWNSHIP), Grid.valid_to.is_(None))
    ):
        gap = grid.households - int(ledger.get(grid.code, 0))
        if gap == 0:
            continue
        biggest = db.scalar(
            select(Dwelling)
            .where(Dwelling.grid_code == grid.code)
            .order_by(Dwelling.households.desc())
            .limit(1)
        )
        if biggest is not None and biggest.households + gap >= 0:
            biggest.households += gap
            continue
        if gap > 0:
            p = shapely.from_geojson(grid.geometry).representative_point()
            db.add(
                Dwelling(
                    code=f"D{grid.code}X",
                    address=f"{grid.name}集中居住点",
                    households=gap,
                    lon=p.x,
                    lat=p.y,
                    grid_code=grid.code,
                    village_code=grid.village_code,
                )
            )
        else:  # pragma: no cover  (more ledger than filed households: trim dwellings in turn)
            for d in db.scalars(select(Dwelling).where(Dwelling.grid_code == grid.code)):
                take = min(d.households, -gap)
                d.households -= take
                gap += take
    db.commit()


def _units(db: Session, buildings: list[Any], rng: np.random.Generator) -> None:
    kinds, weights = zip(*UNIT_KINDS, strict=True)
    picks = rng.choice(len(buildings), UNITS, replace=False)
    today = datetime.now(UTC).date()
    rows = []
    names = {UnitKind.SHOP: "便利店", UnitKind.RESTAURANT: "餐馆", UnitKind.THREE_SMALL: "小旅馆",
             UnitKind.WORKSHOP: "五金加工坊", UnitKind.WAREHOUSE: "仓库", UnitKind.CLINIC: "诊所",
             UnitKind.SITE: "建设工地", UnitKind.ENTERPRISE: "电子有限公司"}  # fmt: skip
    for n, pick in enumerate(sorted(picks), start=1):
        village, i, b = buildings[pick]
        c = b.geometry.centroid
        kind = kinds[int(rng.choice(len(kinds), p=np.array(weights) / sum(weights)))]
        expires = today + timedelta(days=int(rng.integers(-60, 720)))
        rows.append({
            "code": f"U{village}{n:03d}", "name": f"石碣{n}号{names[kind]}", "kind": kind.value,
            "address": f"{i}号首层", "licence_no": f"JY1441900{n:07d}",
            "licence_expires": expires.isoformat(),
            "fire_status": str(rng.choice(["compliant"] * 6 + ["unchecked"] * 3 + ["hazard"])),
            "contact_title": "负责人", "work_phone": f"0769-8{n:07d}",
            "lon": round(c.x + 0.00008, 7), "lat": round(c.y, 7),
        })  # fmt: skip
    _import(db, LedgerKind.UNITS, rows)


def _components(db: Session, roads: list[Any], rng: np.random.Generator) -> None:
    lines = [g for _n, g in roads if not g.is_empty and g.length > 0]
    lengths = np.array([g.length for g in lines])
    picks = rng.choice(len(lines), COMPONENTS * 2, p=lengths / lengths.sum())
    points = [lines[i].interpolate(float(rng.random()), normalized=True) for i in picks]
    lons = np.array([p.x for p in points]) + rng.normal(0, 0.00005, len(points))
    lats = np.array([p.y for p in points]) + rng.normal(0, 0.00005, len(points))
    inside = [i for i, where in enumerate(locate_many(db, lons, lats)) if where is not None]
    rows = []
    for n, i in enumerate(inside[:COMPONENTS], start=1):
        rows.append({
            "code": f"C{TOWNSHIP}{n:05d}", "class_code": str(rng.choice(COMPONENT_CLASSES)),
            "owner": "石碣镇人民政府", "maintainer": "石碣镇市政服务中心",
            "state": str(rng.choice(["intact"] * 17 + ["damaged"] * 2 + ["missing"])),
            "lon": round(float(lons[i]), 7), "lat": round(float(lats[i]), 7),
        })  # fmt: skip
    _import(db, LedgerKind.COMPONENTS, rows)


def _plans_and_records(db: Session, rng: np.random.Generator, today: date) -> int:
    templates = {t.code: t for t in db.scalars(select(ChecklistTemplate))}
    worker = db.scalar(select(User).where(User.username == "worker"))
    start = today - timedelta(days=92)
    for code, selector, every in PLANS:
        inspections.add_plan(
            db,
            template=templates[code],
            territory_code=TOWNSHIP,
            every_days=every,
            starts_on=start,
            selector=selector,
            actor=None,
        )
    supervisor = db.scalar(select(User).where(User.username == "supervisor"))
    if worker is None or supervisor is None:
        return 0
    count = 0
    for code, selector, every in PLANS[:3]:  # food and gas in restaurants, fire in 三小场所
        template = templates[code]
        units = db.scalars(select(Unit).where(Unit.kind == selector).order_by(Unit.code)).all()
        for unit in units[:RECORDED_UNITS]:
            inspector = worker if unit.grid_code.startswith(DEMO_VILLAGE) else supervisor
            day = start + timedelta(days=int(rng.integers(0, 10)))
            while day < today - timedelta(days=3):
                count += _inspect(db, template, unit, inspector, day, rng)
                day += timedelta(days=every)
    return count


def _inspect(
    db: Session, template: ChecklistTemplate, unit: Unit, worker: User, day: date, rng: Any
) -> int:
    at = datetime(day.year, day.month, day.day, 2 + int(rng.integers(0, 7)), tzinfo=UTC)
    answers = []
    for item in template.items:
        failed = rng.random() < 0.04
        result = ItemResult.FAIL if failed else ItemResult.PASS
        answers.append(
            inspections.ItemAnswer(item.id, result, "现场发现问题，已告知负责人" if failed else "")
        )
    inspections.submit_inspection(
        db, template=template, kind=LedgerKind.UNITS, target_id=unit.id, answers=answers,
        actor=worker, client_key=f"demo-{template.code}-{unit.id}-{day.isoformat()}",
        inspected_at=at, reported_at=at,
    )  # fmt: skip
    return 1
