"""Figures fixtures: the cases' world, logged-in pages, and local times to write histories at."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.cases.conftest import World, world  # noqa: F401  (the cases' fixture, reused)
from tests.desk.conftest import as_user  # noqa: F401  (logged-in page client)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """'2026-11-02 09:00' in Asia/Shanghai, aware."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


__all__ = ["World", "local"]
