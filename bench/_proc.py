"""The benchmarks' servers: started under uvicorn, and their CPU time read from /proc (Linux)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def serve(app: str, port: int, env: dict[str, str], *, workers: int = 1) -> subprocess.Popen[bytes]:
    """Serve the app factory ``app`` on 127.0.0.1:``port``; return once /healthz answers."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn ``--workers N`` starts child processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return out
