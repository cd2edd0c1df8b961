"""The top menu: one table of (key, path, label, roles), in menu order.

A domain adds its pages here, one row each; the layout (``web/base.html``) shows a user the rows
of their role, and visitors the public ones.
"""

from __future__ import annotations

from civgrid.web.i18n import N_

COMMAND = frozenset({"dispatcher", "duty_chief", "admin"})
LEADER = frozenset({"grid_leader"})
WORKER = frozenset({"grid_worker"})
SUPERVISOR = frozenset({"supervisor"})
HANDLER = frozenset({"dept_handler"})
FIELD = LEADER | WORKER | SUPERVISOR
PUBLIC = frozenset({""})  # shown to visitors who are not logged in

MENU: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("command", "/desk/command", N_("Command center"), COMMAND),
    ("intake", "/desk/intake", N_("Take a phone report"), COMMAND),
    ("queue", "/desk/queue", N_("My queue"), HANDLER),
    ("leader", "/desk/leader", N_("My grids"), LEADER),
    ("field", "/field", N_("Field"), FIELD),
    ("report", "/field/report", N_("Report"), FIELD),
    ("patrol", "/field/patrol", N_("Patrol"), LEADER | WORKER),
    ("inspections", "/field/inspections", N_("Inspections"), FIELD),
    ("visits", "/field/visits", N_("Visits"), WORKER),
    ("map", "/desk/map", N_("Map"), COMMAND | LEADER),
    ("overdue", "/desk/overdue", N_("Overdue"), COMMAND),
    ("grids", "/grids/map", N_("Grid map"), COMMAND | LEADER),
    ("catalogue", "/catalogue", N_("Matter list"), COMMAND),
    ("ledger", "/ledger", N_("Grid ledger"), COMMAND | FIELD),
    ("care", "/care", N_("Care"), LEADER | HANDLER),
    ("mediation", "/mediation", N_("Mediation"), COMMAND | LEADER | WORKER),
    ("notices", "/field/notices", N_("Notices"), COMMAND | FIELD),
    ("patrols", "/workforce/patrols", N_("Patrols"), COMMAND | LEADER),
    ("users", "/workforce/users", N_("Staff"), COMMAND),
    ("figures", "/figures", N_("Figures"), COMMAND | LEADER),
    ("portal", "/portal", N_("Report a problem"), PUBLIC),
    ("track", "/portal/track", N_("Follow my report"), PUBLIC),
    ("board", "/board", N_("Public board"), PUBLIC),
    ("directory", "/directory", N_("Grid directory"), PUBLIC),
    ("public-notices", "/notices", N_("Notices"), PUBLIC),
)


def menu_for(role: str) -> list[tuple[str, str, str]]:
    """The menu rows of ``role`` ("" for a visitor): key, path and untranslated label."""
    return [(key, path, label) for key, path, label, roles in MENU if role in roles]
