"""What a kernel that ended leaves running: its watchdog, its `rclone mount`, the bisyncs it started.

None of them is this process's child, so each is found by its record (pid and start time) or by
its command line, and waited for through /proc rather than with wait().
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..processes import ProcessIdentity, end
from .state import MountRecord


def stop_watchdog_of(record: MountRecord) -> None:
    """Before cleaning up a mount left behind: its watchdog must not clean up at the same time."""
    watchdog = record.watchdog_process()
    if watchdog is not None and watchdog.pid != os.getpid():
        end(watchdog, 5)


def stop_rclone_of(record: MountRecord) -> None:
    """End the `rclone mount` of a mount left behind (once unmounted it mostly exits by itself)."""
    process = record.rclone_process()
    if process is not None:
        end(process, 15)


def let_syncs_end(path: Path, workdir: Path, seconds: float = 600) -> None:
    """Wait for the syncs a dead kernel (or its stopped watchdog) started: rclone finishes its
    transfers after a SIGTERM. Then drop the bisync locks that nobody holds any more."""
    deadline = time.monotonic() + seconds
    while rclone_processes_on(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not rclone_processes_on(path):
        for lock in workdir.glob("*.lck"):  # left by a bisync killed with the kernel
            lock.unlink(missing_ok=True)


def rclone_processes_on(path: Path) -> list[int]:
    """rclone processes with PATH as one of their arguments (a bisync of a dead kernel, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "rclone" in args[0] and str(path) in args and ProcessIdentity.of(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found
