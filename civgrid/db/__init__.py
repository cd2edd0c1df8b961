"""Database engine, session and migrations."""

from civgrid.db.base import Base, UTCDateTime, utcnow
from civgrid.db.session import get_db, get_engine, session_factory

__all__ = ["Base", "UTCDateTime", "get_db", "get_engine", "session_factory", "utcnow"]
