"""Workforce error texts that reach pages through ``_()``, kept in the catalogue by ``N_``."""

from civgrid.web.i18n import N_

RUNTIME_MESSAGES = (
    N_("field work needs the required training passed first"),
    N_("you are not staffed in any grid; ask the office to assign you one"),
    N_("you already have an open patrol; end it first"),
    N_("patrols are for grid workers and leaders"),
    N_("you cannot deactivate yourself"),
    N_("a staff user needs at least one scope (division, grid or department)"),
    N_("password must be at least 8 characters"),
)
