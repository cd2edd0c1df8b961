"""The loaded catalogue, and demo-style departments, inside the test transaction."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from civgrid.catalogue.actions import LoadResult, load_catalogue
from civgrid.departments.models import Department


@pytest.fixture
def catalogue(db: Session) -> LoadResult:
    return load_catalogue(db)


@pytest.fixture
def departments(db: Session) -> dict[str, Department]:
    made = {}
    for code, division in [
        ("T-HW", "441900101"),
        ("T-CG", "441900101"),
        ("T-GL", "441900"),
        ("T-SL", "441900102"),
    ]:
        made[code] = Department(code=code, name_zh=code, division_code=division)
        db.add(made[code])
    db.commit()
    return made
