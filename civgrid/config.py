"""Settings: the one reader of the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105  (the known default that production refuses)


class Settings(BaseSettings):
    """civgrid's configuration, read from ``CIVGRID_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CIVGRID_", env_file=".env", extra="ignore")

    env: str = Field("development", description="development, test or production")
    data_dir: Path = Path("var")
    database_url: str = ""
    # The owner's URL, for migrations and `civgrid db grant`; on PostgreSQL the app's own URL
    # (database_url) should be a role that owns no tables. Unset: the same as database_url.
    migration_database_url: str = ""
    # A streaming replica of database_url (PostgreSQL only), for the reads that may lag the
    # primary a little: the public board, Open311 GET and the figures (civgrid.db.session,
    # get_read_db). Unset: those read the primary too. See docs/architecture.md.
    read_database_url: str = ""
    secret_key: str = DEFAULT_SECRET
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    token_ttl_hours: int = 12
    # Failed logins: after login_max_failures from one address for one username, or
    # login_max_failures_per_address from one address for any usernames, each further try
    # waits login_delay_seconds, doubling each time (at most the window). Never per username
    # alone: no one can lock a user out from elsewhere.
    login_max_failures: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    login_delay_seconds: int = Field(30, ge=1)
    login_failure_window_minutes: int = Field(15, ge=1)
    grid_sequence_digits: int = Field(2, ge=2, le=3)
    # The household band of comprehensive grids (urban 300–500; rural deployments use ~300).
    grid_households_min: int = Field(300, ge=1)
    grid_households_max: int = Field(500, ge=1)
    tile_url: str = ""
    tile_attribution: str = ""
    # Strict-Transport-Security (civgrid.web.headers): None sends it in production only.
    hsts: bool | None = None
    hsts_max_age: int = Field(365 * 86400, ge=1)
    attachment_dir: Path | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024
    # Photos of refused report forms, kept an hour so that nobody picks them again: all together
    # at most this much (beyond it a refused form asks for its photos again).
    pending_photos_max_bytes: int = Field(200 * 1024 * 1024, ge=0)
    sweep_interval_seconds: int = 300
    # Daily working periods in the deployment's time zone (工作时), comma-separated.
    work_periods: str = "08:00-12:00,14:00-18:00"
    # The in-process sweep (overdue escalation, missing summons) while serving; the test
    # harness (CIVGRID_ENV=test) never starts it, `civgrid sweep` runs one pass by hand.
    sweep_in_process: bool = True
    # Threads for synchronous routes and dependencies per server process (anyio's default is
    # 40). A CPU-bound worker serves intake faster with a few (4) than with many.
    threadpool_size: int = Field(40, ge=1, le=1000)
    # On PostgreSQL, case intake writes on an asynchronous connection on the event loop
    # (civgrid.db.aio); false keeps it in the request's session, in the thread pool.
    async_writes: bool = True
    duplicate_radius_m: float = Field(50.0, gt=0)
    duplicate_window_hours: float = Field(72.0, gt=0)
    # Resident portal anti-abuse: submissions per address per hour, per contact per day.
    portal_max_per_ip_hour: int = Field(10, ge=1)
    portal_max_per_contact_day: int = Field(5, ge=1)
    # Patrols (civgrid.workforce): raw points kept this long, then purged by the sweep.
    patrol_points_keep_days: int = Field(90, ge=1)
    patrol_max_speed_kmh: float = Field(60.0, gt=0)
    patrol_max_outside_m: float = Field(3000.0, gt=0)
    # Retention (PIPL Art. 19), run by the sweep and `civgrid purge`; see docs/scope.md.
    # A reporter's phone and e-mail, this long after the case is closed.
    retention_reporter_contact_days: int = Field(180, ge=1)
    # Failed-login rows, and the usernames typed in them (also in the audit log's detail).
    retention_login_failures_days: int = Field(30, ge=1)
    # Addresses in the audit log, then replaced by a keyed hash (the events stay).
    retention_audit_ip_days: int = Field(180, ge=1)
    # A photo original's EXIF location, this long after its case is closed.
    retention_photo_location_days: int = Field(180, ge=1)
    # Dispute parties' names and contacts, this long after the dispute is concluded (agreed,
    # withdrawn or referred): then pseudonymised (当事人甲, 乙 …). Three years, the limitation
    # period for a claim on the agreement (Civil Code Art. 188); see docs/scope.md.
    retention_dispute_parties_days: int = Field(1095, ge=1)
    # Daily patrol hours required, per grid kind ("comprehensive:4,exclusive:2").
    patrol_daily_hours: str = "comprehensive:4,exclusive:4"

    @field_validator("work_periods")
    @classmethod
    def _periods_make_deadlines_possible(cls, value: str) -> str:
        from civgrid.calendar.workcalendar import CalendarError, parse_periods

        try:
            parse_periods(value)
        except CalendarError as exc:
            raise ValueError(f"CIVGRID_WORK_PERIODS: {exc}") from None
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "CIVGRID_SECRET_KEY is the development default; set a secret of your own "
                "before running with CIVGRID_ENV=production"
            )
        if self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("CIVGRID_SECRET_KEY must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _replica_of_postgresql(self) -> Settings:
        if not self.read_database_url:
            return self
        if not self.read_database_url.startswith("postgresql"):
            raise ValueError(
                "CIVGRID_READ_DATABASE_URL must be a PostgreSQL URL (a streaming replica)"
            )
        if not self.effective_database_url.startswith("postgresql"):
            raise ValueError(
                "CIVGRID_READ_DATABASE_URL is a replica of a PostgreSQL primary; set "
                "CIVGRID_DATABASE_URL to that primary (SQLite has no replicas)"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured database, or SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'civgrid.sqlite3').resolve()}"

    @property
    def effective_migration_database_url(self) -> str:
        """The owner's URL for migrations and grants, or the app's URL when none is set."""
        return self.migration_database_url or self.effective_database_url

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def attachments_path(self) -> Path:
        return self.attachment_dir or self.data_dir / "attachments"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()
