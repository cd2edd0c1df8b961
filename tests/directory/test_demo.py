"""The demo's staff have obviously fake work phones and its departments duty phones (idempotent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.demo import DEMO_USERS, load_demo
from civgrid.departments.models import Department


def test_demo_work_and_duty_phones(demo_db: Session) -> None:
    db = demo_db
    users = {u.username: u for u in db.scalars(select(User))}
    phones = {name: users[name].work_phone for name, *_rest in DEMO_USERS}
    assert all(p and p.startswith("0769-8888") for p in phones.values())
    assert len(set(phones.values())) == len(phones)
    office = db.scalar(select(Department).where(Department.code == "DG-SJ-WG"))
    assert office is not None and office.duty_phone == "0769-88889007"
    users["worker"].work_phone = "0769-22223333"  # changed by an admin: a reload keeps it
    db.commit()
    load_demo(db)
    assert db.get(User, users["worker"].id).work_phone == "0769-22223333"  # type: ignore[union-attr]
    assert db.get(User, users["leader"].id).work_phone == phones["leader"]  # type: ignore[union-attr]
