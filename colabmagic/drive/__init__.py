"""Google Drive, or any rclone remote, as a folder: a FUSE mount, or a mirror kept in sync.

`mount(mountpoint="~/drive", remote=None, mode="auto")` returns a `Mount`; Drive lands at
`MOUNTPOINT/MyDrive` as in Colab (`/content/drive/MyDrive`), another remote at `MOUNTPOINT/NAME`.

- mode "mount": `rclone mount` (FUSE) with a VFS write cache, driven over its remote control on a
  unix socket; `readonly` is rclone's `--read-only`.
- mode "mirror" (auto when /dev/fuse or fusermount is missing, e.g. in a container): a real local
  folder synced both ways with `rclone bisync` every `interval` s and on unmount; with `readonly`
  it is only pulled, never pushed.
- `unmount()` flushes (every queued upload goes out, or the final bisync runs) and unmounts; the
  same runs for every mount at interpreter exit, and, when the kernel ends without finishing it
  (Jupyter's SIGTERM after ~2.5 s, SIGKILL), in the mount's watchdog process.
- A record per mount lets a later kernel tell a stale mount left behind; `force_remount` cleans
  it up. Colab's mount-point rules: the folder is empty or missing, its parent exists, no symlink.

Modules, one concept each:
- manager.py:     this kernel's mounts: mount / unmount / mounts, the rules, stale mounts, at exit;
- fuse_mount.py:  mode "mount" (rclone mount, flush, unmount, a dead kernel's mount cleaned up);
- mirror.py:      mode "mirror" (bisync rounds, the last push);
- fuse.py:        FUSE on this machine: which mode can work, /proc/self/mountinfo, fusermount3;
- credentials.py: which remote with which credentials, and the guided Google Drive set-up;
- rclone.py:      the rclone binary, its config and remotes, its remote control;
- state.py:       the mount record (one process writes it, the watchdog and later kernels read it);
- orphans.py:     what a kernel that ended left running (its watchdog, rclone, bisyncs);
- watchdog.py:    starting and stopping a mount's watchdog; watchdog_process.py is that process;
- results.py:     Mount and Unmounted, what the magics show.
"""

from .credentials import DRIVE_FOLDER
from .manager import DEFAULT_MOUNTPOINT, MIN_SYNC_INTERVAL, MODES, mount, mounts, unmount, unmount_all
from .results import Mount, Unmounted

__all__ = ["DEFAULT_MOUNTPOINT", "DRIVE_FOLDER", "MIN_SYNC_INTERVAL", "MODES", "Mount", "Unmounted", "mount",
           "mounts", "unmount", "unmount_all"]
