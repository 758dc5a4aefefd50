"""Process identity: a pid and its start time name one process, which a reused pid does not.

A process we start that must not outlive its kernel watches the kernel through this (DESIGN §3).
"""

from __future__ import annotations

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
