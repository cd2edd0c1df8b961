"""The printable mediation agreement (调解协议书): a template rendered to PDF by WeasyPrint."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civgrid.auth.models import User
from civgrid.errors import NotFound
from civgrid.mediation import service
from civgrid.mediation.models import Dispute
from civgrid.web.templating import environment


def agreement_html(db: Session, user: User, dispute: Dispute, locale: str = "zh_CN") -> str:
    """The agreement as HTML, with the parties as ``user`` may see them (the read is logged)."""
    agreement = service.agreement_of(db, dispute)
    if agreement is None:
        raise NotFound(f"dispute {dispute.number} has no agreement")
    mediator = db.get(User, dispute.mediator_id)
    ctx = {
        "locale": locale,
        "dispute": dispute,
        "agreement": agreement,
        "terms": service.shown(user, dispute, agreement.terms),
        "summary": service.shown(user, dispute, dispute.summary),
        "parties": service.parties_for(db, user, dispute, purpose="mediation agreement"),
        "mediator": mediator.display_name if mediator else "",
    }
    return environment().get_template("mediation/agreement_pdf.html").render(ctx)


def agreement_pdf(db: Session, user: User, dispute: Dispute, locale: str = "zh_CN") -> bytes:
    """The agreement as a PDF (Chinese text in the CJK fonts the system provides)."""
    from civgrid.web.pdf import html_to_pdf

    return html_to_pdf(agreement_html(db, user, dispute, locale))
