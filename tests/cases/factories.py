"""Test data for cases, built through the owning domains' real actions where they exist."""

from __future__ import annotations

from shapely.geometry import box
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.catalogue.actions import add_routing_rule
from civgrid.catalogue.models import Category, CategoryKind
from civgrid.departments.models import Department
from civgrid.grids.actions import GridDraft, create_grid

# A square of about 1 km in 石碣镇 (WGS84), its centre, and the grid created on it.
LON, LAT, HALF = 113.805, 23.095, 0.005


def grid(db: Session, village: str) -> tuple[float, float, str]:
    """A grid in ``village`` around (LON, LAT); returns that point and the grid code."""
    square = box(LON - HALF, LAT - HALF, LON + HALF, LAT + HALF)
    created = create_grid(
        db, GridDraft(village_code=village, geometry=square, name="测试网格"), actor=None
    )
    return LON, LAT, created.code


def department(db: Session, code: str, name: str) -> Department:
    existing = db.scalar(select(Department).where(Department.code == code))
    if existing is not None:
        return existing
    dept = Department(code=code, name_zh=name, division_code="441900101")
    db.add(dept)
    db.commit()
    return dept


def _category(db: Session, code: str, name: str, **flags: bool) -> Category:
    category = Category(
        code=code,
        kind=CategoryKind.SERVICE_ITEM,
        major_code="GT1",
        major_name_zh="测试大类",
        name_zh=name,
        **flags,
    )
    db.add(category)
    db.commit()
    return category


def categories(db: Session, dept: Department) -> tuple[Category, Category, Category]:
    """A published category routed to ``dept``, a major emergency and an unlisted one."""
    listed = _category(db, "GT101", "乱堆乱放")
    major = _category(db, "GT102", "燃气泄漏", is_major_emergency=True)
    unlisted = _category(db, "GT103", "非清单事项", is_published=False)
    add_routing_rule(
        db, department_code=dept.code, major_code="GT1", division_prefix="441900101", actor=None
    )
    return listed, major, unlisted
