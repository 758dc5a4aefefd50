"""Mode "mirror": a real local folder synced both ways with `rclone bisync` (where FUSE cannot mount).

It syncs every `interval` s in a thread and once more on `stop`; read-only, it is only pulled,
never pushed. A sync is never cut short by the kernel's end or an interrupt: rclone runs it in a
session of its own, and whoever syncs next waits for a round left running (orphans.let_syncs_end).
bisync's listings live in ~/.cache/colabmagic/bisync-HASH: a mirror left by a kernel that exited
is adopted by the next mount of the same folder, whose first bisync pushes what is left.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

from ..errors import MountError
from ..locale import tr
from . import orphans, rclone, state
from .results import Mount


def start(root: Path, path: Path, spec: str, env: dict, readonly: bool, interval: float) -> Mount:
    adopting = path.is_dir() and any(path.iterdir())
    path.mkdir(parents=True, exist_ok=True)
    workdir = rclone.cache_dir() / ("bisync-" + hashlib.sha256(str(root).encode()).hexdigest()[:16])
    result = Mount(root, path, spec, "mirror", readonly, interval=interval, _env=env, _workdir=workdir)
    try:
        sync(result, first=not (adopting and workdir.is_dir()))
    except BaseException:
        if not adopting:
            shutil.rmtree(path, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    state.write(root, state.MountRecord.of_this_kernel(root, path, "mirror", remote=spec, readonly=readonly,
                                                       workdir=str(workdir)))
    result._thread = threading.Thread(target=_sync_every, args=(result,), daemon=True, name=f"mirror {path}")
    result._thread.start()
    return result


def sync(m: Mount, *, first: bool = False) -> None:
    """One round: bisync (pull only when read-only). `first` builds bisync's listings (--resync).

    A sync is never cut short by the kernel's end or an interrupt (rclone.run's finish_on_interrupt):
    a round that an interrupted kernel left running is waited for, never raced."""
    with m._syncing:
        orphans.let_syncs_end(m.path, m._workdir)
        if m.readonly:
            rclone.run(["sync", m.remote, str(m.path), "--create-empty-src-dirs"], env=m._env, timeout=3600,
                       finish_on_interrupt=True)
            return
        m._workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        args = ["bisync", m.remote, str(m.path), "--workdir", str(m._workdir), "--resilient", "--recover",
                "--create-empty-src-dirs", "--conflict-resolve", "newer", "--max-lock", "2m"]
        rclone.run(args + (["--resync"] if first else []), env=m._env, timeout=3600, finish_on_interrupt=True)


def _sync_every(m: Mount) -> None:
    while not m._stop.wait(m.interval):
        try:
            sync(m)
            m.last_error = ""
        except Exception as err:  # noqa: BLE001 -- a background round must not die; unmount reports it
            m.last_error = str(err)


def alive(m: Mount) -> bool:
    return m.path.is_dir()


def stop(m: Mount) -> int:
    """Stop the periodic syncs, push the last changes (unless read-only), remove the mirror; returns 1 (one sync)."""
    m._stop.set()
    if m._thread is not None:
        m._thread.join(timeout=3600)
    if not m.readonly:
        try:
            sync(m)
        except MountError as err:
            raise MountError(tr("Could not push the last changes ({error}); the local copy stays at {path}: "
                                "run %unmount_drive again").format(error=err, path=m.path)) from None
    shutil.rmtree(m.path, ignore_errors=True)
    shutil.rmtree(m._workdir, ignore_errors=True)
    state.remove(m.mountpoint)
    return 1


def clean_up_after(root: Path, record: state.MountRecord) -> None:
    """What `stop` does, for a mirror whose kernel is gone (its watchdog runs this)."""
    path, workdir = Path(record.path), Path(record.workdir or record.path)
    orphans.let_syncs_end(path, workdir)
    if not path.is_dir():  # the kernel's own unmount got as far as removing the mirror
        shutil.rmtree(workdir, ignore_errors=True)
        state.remove(root)
        return
    stop(Mount(root, path, record.remote, "mirror", record.readonly, _workdir=workdir))
