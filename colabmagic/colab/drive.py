"""`google.colab.drive`: `mount` and `flush_and_unmount` over colabmagic.drive (`%mount_drive`).

The notebook's own mount point is kept (`/content/drive`, `/content/gdrive`, mapped to the content
root); the remote is `$COLABMAGIC_DRIVE_REMOTE`, else the one `%mount_drive` uses by default. The
remote's root is My Drive: `MyDrive` and `My Drive` both reach it, whatever the remote is called
(two symbolic links beside the mounted folder, removed before it is unmounted).
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from .. import drive as core
from ..locale import tr
from . import content

REMOTE_ENV = "COLABMAGIC_DRIVE_REMOTE"
MY_DRIVE = ("MyDrive", "My Drive")   # Colab's name today, and the one older notebooks use
_mounted: dict[str, Path] = {}        # the mount point as the notebook wrote it -> where it is here
_exit_registered = False


def mount(mountpoint: str, force_remount: bool = False, timeout_ms: int = 120000, readonly: bool = False) -> None:
    """Mount Google Drive (or $COLABMAGIC_DRIVE_REMOTE) at MOUNTPOINT, Drive's root at MOUNTPOINT/MyDrive."""
    shown = str(mountpoint).rstrip("/") or "/"
    where = content.mapped(os.path.expanduser(shown))
    if where != os.path.expanduser(shown):
        content.ensure_root()  # compat may be off: the root the path moved into must exist
    root = Path(os.path.abspath(where))
    _remove_links(root)  # they would make the folder "not empty" to the mount's check
    result = core.mount(root, remote=os.environ.get(REMOTE_ENV) or None, readonly=readonly,
                        force_remount=force_remount, timeout=max(timeout_ms / 1000, 1.0))
    _link(root, result.path.name)
    _mounted[shown] = root
    _register_exit()
    if result.already:
        print(tr("Drive already mounted at {mountpoint}; to attempt to forcibly remount, call "
                 "drive.mount(\"{mountpoint}\", force_remount=True).").format(mountpoint=shown))
    else:
        print(tr("Mounted at {mountpoint}").format(mountpoint=shown))


def flush_and_unmount(timeout_ms: int = 24 * 60 * 60 * 1000) -> None:
    """Write every pending change back to the remote, then unmount (every mount made by mount())."""
    if not _mounted:
        print(tr("Drive not mounted, so nothing to flush and unmount."))
        return
    for shown, root in list(_mounted.items()):
        _remove_links(root)
        core.unmount(root, timeout=max(timeout_ms / 1000, 1.0))
        del _mounted[shown]
    print(tr("All changes made in this colab session should now be visible in Drive."))


def _link(root: Path, folder: str) -> None:
    for name in MY_DRIVE:
        alias = root / name
        if name != folder and not alias.exists() and not alias.is_symlink():
            alias.symlink_to(folder if name == MY_DRIVE[0] else MY_DRIVE[0], target_is_directory=True)


def _remove_links(root: Path) -> None:
    """Our aliases only: a symbolic link named MyDrive or My Drive (a real folder is never touched)."""
    for name in MY_DRIVE:
        alias = root / name
        if alias.is_symlink():
            alias.unlink()


def _remove_all_links() -> None:
    for root in _mounted.values():
        _remove_links(root)


def _register_exit() -> None:
    # registered after colabmagic.drive's own: atexit runs it first, so that the unmount finds
    # the mount point as it left it
    global _exit_registered
    if not _exit_registered:
        atexit.register(_remove_all_links)
        _exit_registered = True
