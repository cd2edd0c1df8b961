"""Queries about departments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.models import Role, User
from civgrid.departments.models import Department

scope.register(
    Department,
    roles={"view": scope.STAFF, "change": {Role.ADMIN}, "add": {Role.ADMIN}},
    condition=scope.any_of(
        scope.by_code_prefix(Department.division_code), scope.by_department(Department.code)
    ),
)


def list_departments(db: Session, user: User) -> Sequence[Department]:
    """Departments inside the user's jurisdiction, by code."""
    query = scope.restrict(select(Department).order_by(Department.code), user, "view")
    return db.scalars(query).all()
