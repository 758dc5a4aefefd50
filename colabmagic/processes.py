"""Process identity and termination: a pid and its start time name one process, which a reused pid
does not; `end` and `end_child` stop a process the one way the package does (SIGTERM, a grace, SIGKILL).

A process we start that must not outlive its kernel watches the kernel through this (DESIGN §3).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
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


def started_at(pid: int) -> float | None:
    """PID's start in unix seconds (what psutil's create_time says), None when it is gone. For
    records that name a process by that float; two starts within a second are the same process."""
    ticks = process_start(pid)
    return None if ticks is None else _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


def same_start(pid: int, recorded: float) -> bool:
    """Whether PID is still the process that started at RECORDED unix seconds (see started_at)."""
    now = started_at(pid)
    return now is not None and abs(now - recorded) < 1.0


@lru_cache(maxsize=1)
def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


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


def end(process: ProcessIdentity, grace: float, *, group: bool = False) -> None:
    """SIGTERM PROCESS (our child or not) and wait while it runs; SIGKILL it after GRACE seconds.

    With `group`, the signals go to the process group it leads, if it leads one (a process started in
    a session of its own, with whatever it started), and a stopped (SIGSTOP) group is continued so that
    it can act on the SIGTERM. A child of ours is left to its Popen to reap."""
    if not process.alive():
        return  # gone: its pid may be another process's by now
    _send(process.pid, signal.SIGTERM, group)
    deadline = time.monotonic() + grace
    while process.alive():
        if time.monotonic() > deadline:
            _send(process.pid, signal.SIGKILL, group)
            return
        time.sleep(0.02)


def end_child(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM our child PROCESS, SIGKILL it if it still runs after GRACE seconds, and reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _send(pid: int, signum: int, group: bool) -> None:
    try:
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, signum)
            if signum != signal.SIGKILL:
                os.killpg(pid, signal.SIGCONT)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # it ended meanwhile (or became another user's: never ours to signal)
