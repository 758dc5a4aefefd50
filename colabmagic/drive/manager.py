"""This kernel's mounts: `mount`, `unmount`, `mounts`, and `unmount_all` at interpreter exit.

It checks the input and Colab's mount-point rules, finds what a kernel that exited left behind
(a dead FUSE mount, a mirror whose last changes may not be pushed: `force_remount` cleans it up),
picks the mode, lets fuse_mount.py or mirror.py do the mounting, and starts the mount's watchdog.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path
from typing import Callable

from ..errors import ConfigError, MountError
from ..locale import tr
from . import credentials, fuse, fuse_mount, mirror, orphans, state, watchdog
from .results import Mount, Unmounted, already

DEFAULT_MOUNTPOINT = "~/drive"
MODES = ("auto", "mount", "mirror")
# A mirror syncs at most this often: back-to-back bisyncs burn a Drive API quota (45 runs in 5 s at 0).
MIN_SYNC_INTERVAL = 5.0  # seconds
MAX_SECONDS = 7 * 86400  # any wait beyond a week is a typo (and inf overflows a timer)

_MOUNTS: dict[str, Mount] = {}  # str(mountpoint) -> live Mount of this process
_LOCK = threading.RLock()
_ATEXIT = False


def mount(mountpoint: str | os.PathLike = DEFAULT_MOUNTPOINT, *, remote: str | None = None,
          readonly: bool = False, force_remount: bool = False, mode: str = "auto",
          service_account: str | os.PathLike | None = None, timeout: float = 60, interval: float = 60,
          ask: Callable[[str], str] | None = None, show: Callable[[str], None] = print) -> Mount:
    """Mount REMOTE (default: Google Drive) at MOUNTPOINT/MyDrive (or MOUNTPOINT/NAME)."""
    if mode not in MODES:
        raise ConfigError(tr("--mode must be one of {modes}, not {mode!r}").format(modes=", ".join(MODES), mode=mode))
    _check_seconds("--interval", interval, MIN_SYNC_INTERVAL)
    _check_seconds("--timeout", timeout, 1.0)
    root = Path(os.path.abspath(Path(mountpoint).expanduser()))
    with _LOCK:
        live = _MOUNTS.get(str(root))
        if live is not None and _alive(live):
            if not force_remount:
                return already(live)
            unmount(root)
        elif live is not None:  # its rclone died under us
            _MOUNTS.pop(str(root), None)
            watchdog.stop(live._watchdog)
            if live._process is not None:
                live._process.wait()  # reap it
            if not force_remount:
                raise MountError(_stale_message(root, live.path))
        spec, name, env = credentials.resolve_remote(remote, service_account, ask, show)
        path = root / name
        _check_mount_point(root, path, force_remount)
        chosen, why = fuse.choose_mode(mode)
        started = time.perf_counter()
        result = None
        if chosen == "mount":
            try:
                result = fuse_mount.start(root, path, spec, env, readonly, timeout)
            except MountError as err:
                # auto: a FUSE that exists but refuses us (a container without the right to mount)
                if mode != "auto" or not fuse.is_refusal(str(err)):
                    raise
                chosen, why = "mirror", tr("auto: the FUSE mount was refused ({error})").format(error=err)
        if result is None:
            result = mirror.start(root, path, spec, env, readonly, interval)
        result.why = why
        result.seconds = time.perf_counter() - started
        result._watchdog = watchdog.launch(root, env)
        _MOUNTS[str(root)] = result
        _register_exit()
        return result


def _check_seconds(option: str, value, least: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value <= MAX_SECONDS:
        raise ConfigError(tr("{option} must be a number of seconds from {least:g} to {most:g}, not {value!r}").format(
            option=option, least=least, most=MAX_SECONDS, value=value))


def unmount(mountpoint: str | os.PathLike | None = None, *, timeout: float = 600) -> Unmounted:
    """Flush pending writes and unmount MOUNTPOINT (default: the only mount of this kernel)."""
    with _LOCK:
        if mountpoint is None:
            if not _MOUNTS:
                raise MountError(tr("Nothing is mounted in this kernel"))
            if len(_MOUNTS) > 1:
                raise MountError(tr("Several mounts: name one of {mounts}").format(mounts=", ".join(sorted(_MOUNTS))))
            mountpoint = next(iter(_MOUNTS))
        root = Path(os.path.abspath(Path(mountpoint).expanduser()))
        live = _MOUNTS.get(str(root))
        if live is None:
            if _MOUNTS:
                raise MountError(tr("Nothing is mounted at {path} by this kernel (mounted here: {mounts})").format(
                    path=root, mounts=", ".join(sorted(_MOUNTS))))
            raise MountError(tr("Nothing is mounted at {path} by this kernel").format(path=root))
        started = time.perf_counter()
        if live.mode == "mount":
            flushed = fuse_mount.stop(live, timeout)
        else:
            flushed = mirror.stop(live)
        _MOUNTS.pop(str(root), None)
        watchdog.stop(live._watchdog)
        return Unmounted(root, live.mode, flushed, time.perf_counter() - started)


def mounts() -> list[Mount]:
    """This kernel's mounts."""
    return list(_MOUNTS.values())


def _alive(m: Mount) -> bool:
    return fuse_mount.alive(m) if m.mode == "mount" else mirror.alive(m)


# --- mount point rules and what a kernel that exited left behind -------------------------------

def _check_mount_point(root: Path, path: Path, force: bool) -> None:
    """Colab's rules: the folder is empty or missing, its parent exists, it is no symlink."""
    if root.is_symlink():
        raise MountError(tr("{path} is a symbolic link: mount on a real folder (Colab's rule)").format(path=root))
    if not root.parent.is_dir():
        raise MountError(tr("The parent folder {path} does not exist: create it first, or pick another mount "
                            "point").format(path=root.parent))
    for stale in fuse.mounts_under(root):
        if not force:
            raise MountError(_stale_message(root, stale))
        fuse_mount.clean_stale(stale)
    record = state.read(root)
    if record is not None and record.mode == "mirror" and path.is_dir():
        if not force:
            raise MountError(tr("{path} is a mirror left by a kernel that exited (pid {pid}); its last changes may "
                                "not be pushed yet: %mount_drive {root} --force-remount syncs and reuses it").format(
                path=path, pid=record.owner, root=root))
        orphans.stop_watchdog_of(record)
        orphans.let_syncs_end(path, Path(record.workdir or path))
        return  # mirror.start adopts it: the next bisync pushes what is left
    if root.exists():
        if not root.is_dir():
            raise MountError(tr("{path} is a file: mount on an empty or missing folder").format(path=root))
        entries = list(root.iterdir())
        ours = [e for e in entries if e == path and e.is_dir() and not e.is_symlink() and not any(e.iterdir())]
        if len(entries) > len(ours):
            raise MountError(tr("{path} is not empty: mount on an empty or missing folder (Colab's rule), "
                                "or move its files away").format(path=root))


def _stale_message(root: Path, stale: Path) -> str:
    return tr("A stale mount is left at {path} (its rclone process is gone or belongs to a kernel that exited): "
              "%mount_drive {root} --force-remount cleans it up and mounts again").format(path=stale, root=root)


# --- at exit (the watchdog covers an exit that never gets this far) ----------------------------

def _register_exit() -> None:
    global _ATEXIT
    if not _ATEXIT:
        atexit.register(unmount_all)
        _ATEXIT = True


def unmount_all() -> None:
    """Flush and unmount every mount of this process (runs at interpreter exit)."""
    for root in list(_MOUNTS):
        try:
            unmount(root)
        except Exception as err:  # noqa: BLE001 -- at exit: say it, go on with the others
            print(tr("colabmagic: could not unmount {path}: {error}").format(path=root, error=err))
            m = _MOUNTS.pop(root, None)
            if m is not None and m._process is not None:
                fuse_mount.abandon(m)
