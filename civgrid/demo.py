"""The demo district: Shijie town (石碣镇), Dongguan: real codes, demo staff.

Geometry (grids, streets, buildings) is generated; the division codes are the real NBS ones.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.auth.actions import create_user
from civgrid.auth.models import Employment, Role, ScopeKind, User
from civgrid.catalogue.actions import add_routing_rule, load_catalogue
from civgrid.catalogue.models import RoutingRule
from civgrid.catalogue.service import get_category
from civgrid.departments.models import Department
from civgrid.divisions.importer import import_divisions
from civgrid.divisions.models import Division

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_PROVINCE = "44"  # Guangdong
DEMO_COUNTY = "441900"  # Dongguan (a city without counties)
DEMO_TOWNSHIP = "441900101"  # 石碣镇
DEMO_PASSWORD = "civgrid-demo"  # noqa: S105  (documented demo credential)
DIVISIONS_AS_OF = date(2023, 6, 30)  # cutoff of the bundled NBS edition

DEMO_DEPARTMENTS = [
    ("DG-SJ-CG", "石碣镇综合行政执法办（城管）", "Urban management office"),
    ("DG-SJ-HW", "石碣镇环卫所", "Sanitation station"),
    ("DG-SJ-GL", "石碣镇规划建设办（道路）", "Roads and construction office"),
    ("DG-SJ-SJ", "石碣市场监督管理分局", "Market supervision branch"),
    ("DG-SJ-XF", "石碣镇消防救援站", "Fire and rescue station"),
    ("DG-SJ-MZ", "石碣镇社会事务局（民政）", "Civil affairs office"),
    ("DG-SJ-WG", "石碣镇网格化服务管理中心", "Township grid office"),
]

# Major class → the demo department responsible for it (RoutingRule rows for 石碣镇).
DEMO_ROUTING = {
    "M01": "DG-SJ-GL",
    "M02": "DG-SJ-GL",
    "M03": "DG-SJ-HW",
    "M04": "DG-SJ-HW",
    "M05": "DG-SJ-CG",
    "M06": "DG-SJ-HW",
    "M07": "DG-SJ-CG",
    "M08": "DG-SJ-GL",
    "M09": "DG-SJ-CG",
    "M10": "DG-SJ-CG",
    "G01": "DG-SJ-CG",
    "G02": "DG-SJ-XF",
    "G03": "DG-SJ-SJ",
    "G04": "DG-SJ-XF",
    "G05": "DG-SJ-MZ",
    "G06": "DG-SJ-MZ",
    "G07": "DG-SJ-CG",
    "G08": "DG-SJ-MZ",
    "G09": "DG-SJ-GL",
    "G10": "DG-SJ-HW",
    "G11": "DG-SJ-GL",
    "G12": "DG-SJ-GL",
    "G13": "DG-SJ-MZ",
    "G14": "DG-SJ-SJ",
    "G15": "DG-SJ-MZ",
    "G16": "DG-SJ-MZ",
    "G17": "DG-SJ-WG",
}

# username, display name, role, scopes, employment
DEMO_USERS: list[tuple[str, str, Role, list[tuple[ScopeKind, str]], Employment | None]] = [
    ("admin", "系统管理员", Role.ADMIN, [(ScopeKind.ALL, "")], None),
    ("chief", "值班长 陈明", Role.DUTY_CHIEF, [(ScopeKind.DIVISION, DEMO_TOWNSHIP)], None),
    ("dispatcher", "派遣员 李娜", Role.DISPATCHER, [(ScopeKind.DIVISION, DEMO_TOWNSHIP)], None),
    ("handler", "城管 王强", Role.DEPT_HANDLER, [(ScopeKind.DEPARTMENT, "DG-SJ-CG")], None),
    ("sanitation", "环卫 赵敏", Role.DEPT_HANDLER, [(ScopeKind.DEPARTMENT, "DG-SJ-HW")], None),
    ("leader", "网格长 黄伟", Role.GRID_LEADER, [(ScopeKind.DIVISION, "441900101002")], None),
    (
        "worker",
        "网格员 张丽",
        Role.GRID_WORKER,
        [(ScopeKind.DIVISION, "441900101002")],
        Employment.FULL_TIME,
    ),
    ("supervisor", "监督员 刘洋", Role.SUPERVISOR, [(ScopeKind.DIVISION, DEMO_TOWNSHIP)], None),
]


def load_divisions(db: Session, console: Console | None = None) -> None:
    """Import the bundled NBS codes of the demo province (skipped when already there)."""
    have = db.scalar(
        select(func.count()).select_from(Division).where(Division.code.startswith(DEMO_PROVINCE))
    )
    if have:
        return
    if console:
        console.print(f"importing division codes of province {DEMO_PROVINCE} …")
    import_divisions(db, DATA_DIR / "divisions", prefix=DEMO_PROVINCE, as_of=DIVISIONS_AS_OF)


# Obviously fake work numbers (Dongguan's area code, 8888 and a sequence) for the published grid
# directory: staff work phones and departments' duty phones, never anyone's personal number.
DEMO_DUTY_PHONES = {
    code: f"0769-8888{9001 + i}" for i, (code, _z, _e) in enumerate(DEMO_DEPARTMENTS)
}
DEMO_WORK_PHONES = {u[0]: f"0769-8888{1001 + i}" for i, u in enumerate(DEMO_USERS)}


def load_departments(db: Session) -> None:
    for code, name_zh, name_en in DEMO_DEPARTMENTS:
        dept = db.scalar(select(Department).where(Department.code == code))
        if dept is None:
            dept = Department(
                code=code, name_zh=name_zh, name_en=name_en, division_code=DEMO_TOWNSHIP
            )
            db.add(dept)
        if dept.duty_phone is None:  # demo databases made before the phones were added
            dept.duty_phone = DEMO_DUTY_PHONES[code]
    db.commit()


def load_catalogue_and_routing(db: Session) -> None:
    """The national catalogue, the grid service items and the demo township's routing rules."""
    load_catalogue(db)
    if db.scalar(select(func.count()).select_from(RoutingRule)):
        return
    for major, department in DEMO_ROUTING.items():
        add_routing_rule(
            db,
            department_code=department,
            major_code=major,
            division_prefix=DEMO_TOWNSHIP,
            actor=None,
        )
    # A category rule beats its class: people sleeping rough or begging (流浪乞讨) need
    # assistance from civil affairs (救助), not street-order enforcement.
    add_routing_rule(
        db,
        department_code="DG-SJ-MZ",
        category=get_category(db, "M09003"),
        division_prefix=DEMO_TOWNSHIP,
        actor=None,
    )


def load_users(db: Session) -> list[tuple[str, str]]:
    for username, name, role, scopes, employment in DEMO_USERS:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            create_user(
                db,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=name,
                scopes=scopes,
                employment=employment,
                work_phone=DEMO_WORK_PHONES[username],
                actor=None,
            )
        elif user.work_phone is None:  # demo databases made before the phones were added
            user.work_phone = DEMO_WORK_PHONES[username]
    db.commit()
    return [(u, f"{r.label_zh} / {r.label_en}") for u, _n, r, _s, _e in DEMO_USERS]


def load_demo(db: Session, console: Console | None = None) -> list[tuple[str, str]]:
    """Load everything the demo needs; safe to run again."""
    load_divisions(db, console)
    load_departments(db)
    load_catalogue_and_routing(db)
    users = load_users(db)
    load_grids(db, console)
    load_cases(db, console)
    load_portal(db, console)
    load_ledger(db, console)
    load_history(db, console)
    load_services(db, console)
    load_workforce(db, console)
    return users


def load_workforce(db: Session, console: Console | None = None) -> None:
    """Training records, a week of patrols, last week's meetings, last quarter's appraisal."""
    from civgrid.workforce.demo import load_workforce_demo

    count = load_workforce_demo(db)
    if console and count:
        console.print(f"recorded {count} demo patrols in {DEMO_TOWNSHIP}")


def load_grids(db: Session, console: Console | None = None) -> None:
    """The demo town's generated geometry and grids (real village codes)."""
    from civgrid.grids.demo_territory import load_territory

    leader = db.scalar(select(User).where(User.username == "leader"))
    worker = db.scalar(select(User).where(User.username == "worker"))
    count = load_territory(db, leader=leader, worker=worker)
    if console and count:
        console.print(f"generated {count} demo grids in {DEMO_TOWNSHIP}")


def load_cases(db: Session, console: Console | None = None) -> None:
    """Demo cases in various states, made through the real case actions."""
    from civgrid.cases.demo import load_demo_cases

    count = load_demo_cases(db)
    if console and count:
        console.print(f"created {count} demo cases in {DEMO_TOWNSHIP}")


def load_history(db: Session, console: Console | None = None) -> None:
    """A year of the township's cases in bulk, and the figures' rollups built on them."""
    from civgrid.cases.demo import load_demo_history
    from civgrid.figures.actions import rebuild

    count = load_demo_history(db)
    if count:
        built = rebuild(db)
        if console:
            console.print(f"wrote {count} cases of history; figures built up to {built.until}")


def load_portal(db: Session, console: Console | None = None) -> None:
    """Residents' reports through the portal, and one complaint about grid staff."""
    from civgrid.portal.demo import load_demo_portal

    count = load_demo_portal(db)
    if console and count:
        console.print(f"added {count} demo reports from residents")


def load_ledger(db: Session, console: Console | None = None) -> None:
    """The grid ledger (buildings, dwellings, units, components) and inspections."""
    from civgrid.ledger.demo import load_demo_ledger

    count = load_demo_ledger(db)
    if console and count:
        console.print(f"added the demo ledger and {count} inspections")


def load_services(db: Session, console: Console | None = None) -> None:
    """Care households (with consent), disputes at each tier and notices."""
    from civgrid.care.demo import load_demo_care
    from civgrid.mediation.demo import load_demo_mediation
    from civgrid.notices.demo import load_demo_notices

    counts = (load_demo_care(db, DEMO_PASSWORD), load_demo_mediation(db), load_demo_notices(db))
    if console and any(counts):
        console.print("added {} care households, {} disputes and {} notices".format(*counts))
