"""Care enrolments and the personal data they need, kept apart so that withdrawal deletes it.

An enrolment row holds nothing personal: the group, the place (a grid code), the staff
assigned, dates and counts. The person's name, address, contact and needs live in
``care_persons``; the consent record, signed copies and visit notes in their own rows. All of
those are deleted when the person withdraws; the enrolment row stays for anonymous counts.
Nothing about care is ever written to an append-only table beyond ids and states.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class CareGroup(LabelledEnum):
    """Who the programme serves; the group decides the responsible department's matter."""

    ELDERLY_ALONE = ("elderly_alone", "独居老人", "Elderly person living alone", "teal", "G06002")
    DISABLED = ("disabled", "残疾人", "Person with disabilities", "blue", "G06003")
    LOW_INCOME = ("low_income", "低收入家庭", "Low-income household", "orange", "G06001")
    CHILD = ("child_0_6", "0–6岁儿童", "Child aged 0–6", "green", "G05002")
    PREGNANT = ("pregnant", "孕产妇", "Pregnant woman", "green", "G05002")

    @property
    def category_code(self) -> str:
        """The matter (事项) a need found in this group is reported under."""
        return self.group


class EnrolmentState(LabelledEnum):
    ACTIVE = ("active", "服务中", "Active", "green", "open")
    WITHDRAWN = ("withdrawn", "已退出", "Withdrawn", "grey", "closed")


class Consenter(LabelledEnum):
    PERSON = ("person", "本人", "The person")
    GUARDIAN = ("guardian", "监护人", "A guardian")


class VisitOutcome(LabelledEnum):
    MET = ("met", "已见面", "Met", "green")
    NOT_HOME = ("not_home", "不在家", "Not at home", "yellow")
    BY_PHONE = ("by_phone", "电话联系", "By phone", "blue")


class CareEnrolment(Base):
    """One household or person in the programme: nothing personal, only the work and counts."""

    __tablename__ = "care_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[EnrolmentState] = mapped_column(EnumText(EnrolmentState, 20), index=True)
    group: Mapped[CareGroup] = mapped_column(EnumText(CareGroup, 20))
    # The grid code (or the village code outside grids): what jurisdiction prefixes match.
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    # The civil-affairs (or health) department responsible for the group in this place.
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), nullable=True, index=True
    )
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Pair-up help (结对帮扶): a volunteer with a staff login, never a resident's data.
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    visit_every_days: Mapped[int] = mapped_column(Integer, default=30)
    next_visit_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)  # anonymous count, kept
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def person_kept(self) -> bool:
        """Whether the person's data is still held (it is deleted on withdrawal)."""
        return self.state == EnrolmentState.ACTIVE

    person: Mapped[CarePerson | None] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan", uselist=False, lazy="raise"
    )


class CarePerson(Base):
    """The minimum personal data the service needs: deleted at once on withdrawal."""

    __tablename__ = "care_persons"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("care_enrolments.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(200))  # free text (ledger addresses later)
    contact: Mapped[str] = mapped_column(String(60), default="")
    needs: Mapped[str] = mapped_column(Text, default="")

    enrolment: Mapped[CareEnrolment] = relationship(back_populates="person")


class CareConsent(Base):
    """The recorded consent: who gave it, when, to which data, services and readers."""

    __tablename__ = "care_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("care_enrolments.id", ondelete="CASCADE"), unique=True
    )
    consenter: Mapped[Consenter] = mapped_column(EnumText(Consenter, 20))
    guardian_name: Mapped[str] = mapped_column(String(50), default="")
    given_on: Mapped[date] = mapped_column(Date)
    data_kept: Mapped[str] = mapped_column(String(300))
    services: Mapped[str] = mapped_column(String(300))
    who_may_see: Mapped[str] = mapped_column(String(300))
    form_version: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CareDocument(Base):
    """A signed copy (the consent form), kept in the database so deletion is certain."""

    __tablename__ = "care_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("care_enrolments.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CareVisit(Base):
    """A home visit: when, by whom, how it went, what needs were found."""

    __tablename__ = "care_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("care_enrolments.id", ondelete="CASCADE"), index=True
    )
    visited_on: Mapped[date] = mapped_column(Date)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[VisitOutcome] = mapped_column(EnumText(VisitOutcome, 20))
    note: Mapped[str] = mapped_column(Text, default="")
    needs_found: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CareCase(Base):
    """A need found, reported as a case (source = care): the link lives on the care side."""

    __tablename__ = "care_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("care_enrolments.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
