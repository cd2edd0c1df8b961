"""Figures fixtures: the cases' world, and a clock to write histories at chosen local times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.cases.conftest import World, world  # noqa: F401  (the cases' fixture, reused)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """'2026-11-02 09:00' in Asia/Shanghai, aware."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


__all__ = ["World", "local"]
