"""Messages that reach the pages at run time (error texts shown through ``_()``), listed here so
that ``make messages`` keeps them in the catalogue. English is the msgid; zh_CN is in the .po."""

from civgrid.web.i18n import N_

RUNTIME_MESSAGES = (
    N_("wrong username or password"),
    N_("too many failed logins; try again later"),
    N_("CSRF token missing or wrong; reload the page and try again"),
    N_("login required"),
    N_("description is required"),
    N_("reason is required"),
    N_("feedback is required"),
    N_("outcome is required"),
    N_("a reason for rejecting is required"),
    N_("a reason for returning is required"),
    N_("a reason for escalating is required"),
    N_("a reason for the extension is required"),
    N_("feedback on the handling is required"),
    N_("the public outcome note is required"),
    N_("what is still wrong (for the rework) is required"),
    N_("handling feedback needs at least one photo"),
    N_("a self-handled case needs a photo of the result"),
    N_("the point lies outside the service area"),
    N_("this location is outside your jurisdiction"),
    N_("the file is not a readable JPEG, PNG or WebP image"),
    N_("choose a category"),
    N_("set the position (locate me, or pin it on the map)"),
    N_("say what you did on the spot"),
    N_("say what is still wrong"),
    N_("the extension must be a number"),
    N_("this page is for staff"),
)
