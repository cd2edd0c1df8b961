"""CPU time of a server and its children, read from /proc (Linux), for the benchmarks."""

from __future__ import annotations

from pathlib import Path


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
