"""Users, their scopes, API tokens and login failures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civgrid.choices import LabelledEnum
from civgrid.db.base import Base, EnumText, UTCDateTime, utcnow


class Role(LabelledEnum):
    ADMIN = ("admin", "系统管理员", "Administrator", "purple", "staff")
    DUTY_CHIEF = ("duty_chief", "值班长", "Duty chief", "indigo", "staff")
    DISPATCHER = ("dispatcher", "派遣员", "Dispatcher", "blue", "staff")
    DEPT_HANDLER = ("dept_handler", "部门处置人员", "Department handler", "teal", "staff")
    GRID_LEADER = ("grid_leader", "网格长", "Grid leader", "green", "staff")
    GRID_WORKER = ("grid_worker", "网格员", "Grid worker", "green", "staff")
    SUPERVISOR = ("supervisor", "监督员", "Supervisor", "orange", "staff")
    RESIDENT = ("resident", "居民", "Resident", "grey", "public")


class Employment(LabelledEnum):
    FULL_TIME = ("full_time", "专职", "Full-time")
    PART_TIME = ("part_time", "兼职", "Part-time")


class ScopeKind(LabelledEnum):
    ALL = ("all", "全部辖区", "Everywhere")
    DIVISION = ("division", "行政区划", "Division")
    GRID = ("grid", "网格", "Grid")
    DEPARTMENT = ("department", "部门", "Department")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(EnumText(Role, 20))
    employment: Mapped[Employment | None] = mapped_column(EnumText(Employment, 20), nullable=True)
    work_phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped on password change or deactivation so that old sessions stop working.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    # Passed every required training course (civgrid.workforce): kept on the row so that the
    # field-work gate costs no query.
    field_cleared: Mapped[bool] = mapped_column(Boolean, default=False)

    scopes: Mapped[list[UserScope]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_staff(self) -> bool:
        return self.role != Role.RESIDENT

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserScope(Base):
    """One piece of a user's jurisdiction: a division or grid code prefix, or a department."""

    __tablename__ = "user_scopes"
    __table_args__ = (UniqueConstraint("user_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ScopeKind] = mapped_column(EnumText(ScopeKind, 20))
    # A division code, a grid code or a department code, by kind; empty for ALL.
    ref: Mapped[str] = mapped_column(String(32), default="")

    user: Mapped[User] = relationship(back_populates="scopes")


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class LoginSession(Base):
    """A browser session, ended on the server by logout, password change or deactivation.

    The cookie carries a random key; only its SHA-256 is stored.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed login, kept for rate limiting."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
