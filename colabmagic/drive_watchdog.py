"""A mount's keeper: when the kernel that mounted is gone, flush and unmount for it.

A kernel often ends without running its atexit unmount to the end: Jupyter asks it to shut down,
waits ~2.5 s, then SIGTERMs its process group (Python's default SIGTERM skips atexit); a SIGKILL,
or ipykernel seeing its parent die (os._exit), skip it as well. So `drive.mount` starts this, one
per mount, in its own session (out of the kernel's process group):

    python -m colabmagic.drive_watchdog MOUNTPOINT OWNER_PID OWNER_START

It polls the kernel's pid and start time (a reused pid has another start time) and the mount's
state file. State file gone, or naming another owner: the mount was unmounted normally, it exits.
Kernel gone: it does what %unmount_drive does (drive.clean_up_after_owner) and exits.

This module is the process alone; drive.py starts and stops it (imports only go one way).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .processes import process_start

POLL = 0.2  # seconds between looks at the kernel and the state file


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
