"""The command line ends a known failure with a message and an exit code, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_unmigrated_database_is_explained(tmp_path: Path) -> None:
    # wide enough that Rich does not wrap the advice (a long temporary path, say under xdist)
    env = {**os.environ, "CIVGRID_DATA_DIR": str(tmp_path / "nowhere"), "COLUMNS": "200"}
    env.pop("CIVGRID_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "civgrid.cli", "calendar", "deadline"]
    r = subprocess.run(
        [*cmd, "2026-09-30T16:00+08:00", "3", "work_days"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "database error" in r.stdout and "civgrid db upgrade" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
