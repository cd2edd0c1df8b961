"""What the portal keeps besides the case: the reporter's tracking key and rate-limit marks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civgrid.db.base import Base, UTCDateTime, utcnow


class ReporterReceipt(Base):
    """The receipt a resident got with the case number: only the key's SHA-256 is stored.

    Whoever holds the key is the reporter: it lets them add information and rate the case.
    """

    __tablename__ = "portal_receipts"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionMark(Base):
    """One portal submission, counted for the rate limits, then deleted after the window.

    ``bucket`` is a keyed hash (HMAC with the deployment's secret) of the address or the
    contact, so the table never holds an address or a phone number in readable form.
    """

    __tablename__ = "portal_submission_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
