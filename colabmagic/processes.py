"""Process identity: a pid and its start time name one process, which a reused pid does not.

A process we start that must not outlive its kernel watches the kernel through this (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def process_start(pid: int) -> int | None:
    """PID's start time (clock ticks after boot, /proc/PID/stat field 22); None when it is gone.

    A zombie counts as gone: it will never flush anything again."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the command name in (...) may hold spaces
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, named so that a reused pid is not mistaken for it (a record field pair)."""

    pid: int
    start: int  # process_start(pid) when it was seen

    @classmethod
    def of(cls, pid: int) -> "ProcessIdentity | None":
        """PID's identity now; None when no such process is running."""
        start = process_start(pid)
        return None if start is None else cls(pid, start)

    def alive(self) -> bool:
        """Whether this very process still runs (not a zombie, not a new one with the pid)."""
        return process_start(self.pid) == self.start
