"""A mount's keeper: when the kernel that mounted is gone, flush and unmount for it.

A kernel often ends without running its atexit unmount to the end: Jupyter asks it to shut down,
waits ~2.5 s, then SIGTERMs its process group (Python's default SIGTERM skips atexit); a SIGKILL,
or ipykernel seeing its parent die (os._exit), skip it as well. So the mount starts this
(watchdog.launch), one per mount, in its own session (out of the kernel's process group):

    python -m colabmagic.drive.watchdog_process MOUNTPOINT OWNER_PID OWNER_START

It polls the kernel (pid and start time: a reused pid has another start time) and the mount's
record. Record gone, or naming another owner: the mount was unmounted normally, it exits.
Kernel gone: it does what %unmount_drive does, with what the record says, and exits.

This module is the process alone: nothing imports it (imports only go one way).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import MountError
from ..processes import ProcessIdentity
from . import fuse_mount, mirror, state

POLL = 0.2  # seconds between looks at the kernel and the record


def watch(root: Path, kernel: ProcessIdentity) -> None:
    while True:
        try:
            record = state.read(root)
        except MountError:
            return  # a newer colabmagic's kernel mounted here since: not ours to clean up
        if record is None or record.kernel != kernel:
            return  # unmounted normally, or mounted again by another kernel after a clean-up
        if not kernel.alive():
            clean_up_after(root, record)
            return
        time.sleep(POLL)


def clean_up_after(root: Path, record: state.MountRecord) -> None:
    """What unmount does, for a mount whose kernel is gone."""
    if record.mode == "mount":
        fuse_mount.clean_stale(Path(record.path), flush_timeout=600)
    else:
        mirror.clean_up_after(root, record)


def main(argv: list[str]) -> int:
    root, owner, owner_start = Path(argv[0]), int(argv[1]), int(argv[2])
    watch(root, ProcessIdentity(owner, owner_start))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
