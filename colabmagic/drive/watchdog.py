"""Starting and stopping a mount's watchdog: the process (watchdog_process.py) that flushes and
unmounts for a kernel that ended without doing it itself (Jupyter's SIGTERM ~2.5 s into a
shutdown skips atexit; a SIGKILL skips everything). It runs in a session of its own, out of the
kernel's process group, and watches the kernel by pid and start time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..processes import ProcessIdentity
from . import state

MODULE = "colabmagic.drive.watchdog_process"  # started as `python -m MODULE MOUNTPOINT OWNER_PID OWNER_START`


def launch(root: Path, env: dict) -> subprocess.Popen | None:
    """Start the watchdog of the mount at ROOT for this process and name it in the mount's record;
    ENV: the mount's credentials. None without /proc (not Linux): there the atexit unmount is all there is."""
    kernel = ProcessIdentity.of(os.getpid())
    if kernel is None:
        return None
    package_parent = str(Path(__file__).resolve().parents[2])  # importable however the kernel found us
    path = os.environ.get("PYTHONPATH")
    child_env = {**os.environ, **env, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, str(root), str(kernel.pid), str(kernel.start)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env,
        cwd="/",  # never a working folder inside the mount: that would keep it busy
        start_new_session=True)
    named = ProcessIdentity.of(process.pid)
    state.update(root, watchdog=process.pid, watchdog_start=named.start if named else None)
    return process


def stop(process: subprocess.Popen | None) -> None:
    """Stop a watchdog whose mount was unmounted (or dropped) by its own kernel."""
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()
