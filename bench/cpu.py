"""Where the time goes: CPU seconds each server process used, read from /proc.

py-spy is not installed here; the kernel's own accounting (utime + stime in /proc/<pid>/stat,
the process and its live descendants) tells how the machine's cores were shared between the
processes while an assistant answered a level's turns, which is what a scale-out needs to
know: which process is the bottleneck, and what each replica adds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _own_seconds(pid: int) -> float:
    # Fields after the command name (which may hold spaces), from "state": utime and stime
    # are the 12th and 13th (the 14th and 15th of the line, see proc(5)).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants; 0 once gone."""
    try:
        return _own_seconds(pid) + sum(cpu_seconds(child) for child in _children(pid))
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


def snapshot(processes: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process and its descendants, and of this process alone
    (the load generator, whose children are the servers) as "bench"."""
    try:
        own = _own_seconds(os.getpid())
    except (FileNotFoundError, IndexError, ValueError):
        own = 0.0
    return {"bench": own, **{name: cpu_seconds(pid) for name, pid in processes.items()}}


def used(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}
