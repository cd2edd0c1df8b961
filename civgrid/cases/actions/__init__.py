"""Every state change of a case is one of these functions (see ``civgrid.cases.engine``)."""

from civgrid.cases.actions.branches import (
    approve_extension,
    deny_extension,
    escalate_case,
    reopen_case,
    request_extension,
    resume_case,
    supplement_case,
    suspend_case,
    void_case,
)
from civgrid.cases.actions.flow import (
    accept_case,
    close_case,
    dispatch_case,
    evaluate_case,
    handle_case,
    return_case,
    start_case,
    verify_case,
)
from civgrid.cases.actions.intake import (
    Contact,
    merge_case,
    register_case,
    reject_case,
    report_case,
    self_handle_case,
)
from civgrid.cases.actions.summons import acknowledge_summons, summon_departments
from civgrid.cases.attachments import attach_photo

__all__ = [
    "Contact",
    "accept_case",
    "acknowledge_summons",
    "approve_extension",
    "attach_photo",
    "close_case",
    "deny_extension",
    "dispatch_case",
    "escalate_case",
    "evaluate_case",
    "handle_case",
    "merge_case",
    "register_case",
    "reject_case",
    "reopen_case",
    "report_case",
    "request_extension",
    "resume_case",
    "return_case",
    "self_handle_case",
    "start_case",
    "summon_departments",
    "supplement_case",
    "suspend_case",
    "verify_case",
    "void_case",
]
