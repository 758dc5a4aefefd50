"""A mount's keeper: when the kernel that mounted is gone, flush and unmount for it.

A kernel often ends without running its atexit unmount to the end: Jupyter asks it to shut down,
waits ~2.5 s, then SIGTERMs its process group (Python's default SIGTERM skips atexit); a SIGKILL,
or ipykernel seeing its parent die (os._exit), skip it as well. So `drive.mount` starts this, one
per mount, in its own session (out of the kernel's process group):

    python -m colabmagic.drive_watchdog MOUNTPOINT OWNER_PID OWNER_START

It polls the kernel's pid and start time (a reused pid has another start time) and the mount's
state file. State file gone, or naming another owner: the mount was unmounted normally, it exits.
Kernel gone: it does what %unmount_drive does (drive.clean_up_after_owner) and exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

POLL = 0.2  # seconds between looks at the kernel and the state file


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


def start(root: Path, env: dict) -> subprocess.Popen | None:
    """Start the watchdog of the mount at ROOT for this process; ENV: the mount's credentials.

    None without /proc (not Linux): there the atexit unmount is all there is."""
    owner = os.getpid()
    owner_start = process_start(owner)
    if owner_start is None:
        return None
    package_parent = str(Path(__file__).resolve().parents[1])  # importable however the kernel found us
    path = os.environ.get("PYTHONPATH")
    child_env = {**os.environ, **env, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
    return subprocess.Popen(
        [sys.executable, "-m", "colabmagic.drive_watchdog", str(root), str(owner), str(owner_start)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env,
        cwd="/",  # never a working folder inside the mount: that would keep it busy
        start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    """Stop a watchdog whose mount was unmounted (or dropped) by its own kernel."""
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()


def is_watchdog(pid: int) -> bool:
    try:
        return "colabmagic.drive_watchdog" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def watch(root: Path, owner: int, owner_start: int) -> None:
    from . import drive

    while True:
        state = drive._read_state(root)
        if state is None or (state.get("owner"), state.get("owner_start")) != (owner, owner_start):
            return  # unmounted normally, or mounted again by another kernel after a clean-up
        if process_start(owner) != owner_start:
            drive.clean_up_after_owner(root, state)
            return
        time.sleep(POLL)


def main(argv: list[str]) -> int:
    root, owner, owner_start = Path(argv[0]), int(argv[1]), int(argv[2])
    watch(root, owner, owner_start)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
