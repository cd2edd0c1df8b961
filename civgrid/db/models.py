"""Import every domain's models so that metadata is complete (Alembic, tests)."""

from civgrid.audit import models as audit_models  # noqa: F401
from civgrid.auth import models as auth_models  # noqa: F401
from civgrid.calendar import models as calendar_models  # noqa: F401
from civgrid.care import models as care_models  # noqa: F401
from civgrid.cases import models as case_models  # noqa: F401
from civgrid.catalogue import models as catalogue_models  # noqa: F401
from civgrid.departments import models as department_models  # noqa: F401
from civgrid.divisions import models as division_models  # noqa: F401
from civgrid.figures import models as figure_models  # noqa: F401
from civgrid.grids import models as grid_models  # noqa: F401
from civgrid.inspections import models as inspection_models  # noqa: F401
from civgrid.ledger import models as ledger_models  # noqa: F401
from civgrid.mediation import models as mediation_models  # noqa: F401
from civgrid.notices import models as notice_models  # noqa: F401
from civgrid.open311 import models as open311_models  # noqa: F401
from civgrid.planning import models as planning_models  # noqa: F401
from civgrid.portal import models as portal_models  # noqa: F401
from civgrid.workforce import models as workforce_models  # noqa: F401
