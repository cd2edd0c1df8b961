"""The field-work gate: a grid worker works in the field only after passing the required training.

Checked inside the field actions (patrol start, a patrol report), so no page or API bypasses
it, and at no cost on the intake path: the clearance is a column of the user (kept by the
training actions) and the set of required courses is an in-process cache.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth.models import Role, User
from civgrid.db.cache import TableCache
from civgrid.errors import Forbidden
from civgrid.workforce.models import TrainingCourse

FIELD_ROLES = frozenset({Role.GRID_LEADER, Role.GRID_WORKER})


def required_course_ids(db: Session) -> frozenset[int]:
    return frozenset(db.scalars(select(TrainingCourse.id).where(TrainingCourse.required)))


REQUIRED_COURSES: TableCache[frozenset[int]] = TableCache(
    "required_courses", required_course_ids, (TrainingCourse,)
)


def check_field_clearance(db: Session, user: User) -> None:
    """Refuse field work to a grid worker or leader who has not passed the required training.

    With no required course defined, nobody is held back.
    """
    if user.role in FIELD_ROLES and not user.field_cleared and REQUIRED_COURSES.get(db):
        raise Forbidden("field work needs the required training passed first")
