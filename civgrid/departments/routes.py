"""Department API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.db.session import get_db
from civgrid.departments import service
from civgrid.departments.models import Department
from civgrid.departments.schemas import DepartmentOut
from civgrid.web.responses import AUTHENTICATED

api = APIRouter(prefix="/api/v1/departments", tags=["departments"], responses=AUTHENTICATED)


@api.get("", response_model=list[DepartmentOut])
def list_departments(
    user: User = Depends(current_user), db: Session = Depends(get_db)
) -> list[Department]:
    return list(service.list_departments(db, user))


@api.get("/{department_id}", response_model=DepartmentOut)
def get_department(
    department_id: int, user: User = Depends(current_user), db: Session = Depends(get_db)
) -> Department:
    return scope.get_for(db, user, Department, department_id)
