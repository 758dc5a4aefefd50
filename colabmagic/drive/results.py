"""What `mount` and `unmount` return: a Mount (a path-like folder that says how it was mounted) and
an Unmounted. A live Mount also holds what this kernel needs to unmount it (rclone, its socket,
the mirror's sync thread, the watchdog); those fields are the mode modules' and stay out of repr.
"""

from __future__ import annotations

import html
import subprocess
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass
class Mount:
    """A mounted (or mirrored) remote. `str()` is the folder holding the remote's files."""

    mountpoint: Path
    path: Path                 # mountpoint/MyDrive or mountpoint/NAME: the remote's files
    remote: str                # what rclone was given ("gdrive:", ":drive:", "box:photos")
    mode: str                  # "mount" or "mirror"
    readonly: bool = False
    why: str = ""              # why this mode was chosen
    seconds: float = 0.0       # until the folder answered
    already: bool = False      # it was mounted before this call: nothing was done
    interval: float = 0.0      # mirror: seconds between syncs
    last_error: str = ""       # mirror: what the last background sync said, "" when it worked
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _socket: Path | None = field(default=None, repr=False)
    _runtime: Path | None = field(default=None, repr=False)
    _env: dict = field(default_factory=dict, repr=False)
    _workdir: Path | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _syncing: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _watchdog: subprocess.Popen | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def summary(self) -> str:
        if self.already:
            failed = f"; the last sync failed: {self.last_error}" if self.last_error else ""
            return (f"{self.remote} is already mounted at {self.path} (mode {self.mode}); "
                    f"to mount it again use --force-remount{failed}")
        access = "read-only" if self.readonly else "read-write"
        if self.mode == "mount":
            how = f"rclone FUSE mount, write cache, {access}"
        elif self.readonly:
            how = f"local mirror pulled every {self.interval:.0f} s, read-only: nothing is pushed"
        else:
            how = f"local mirror, changes pushed every {self.interval:.0f} s and on %unmount_drive"
        why = f"; {self.why}" if self.why else ""
        return f"Mounted {self.remote} at {self.path} (mode {self.mode}: {how}{why}) in {self.seconds:.1f} s"

    def _repr_pretty_(self, p, cycle):
        p.text(self.summary())

    def _repr_html_(self) -> str:
        return f"<div>{html.escape(self.summary())}</div>"


@dataclass
class Unmounted:
    """What %unmount_drive did."""

    mountpoint: Path
    mode: str
    flushed: int = 0          # uploads that were still pending (mount) / 1 final sync (mirror)
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.mode == "mount":
            pending = f"flushed {self.flushed} pending upload{'s' if self.flushed != 1 else ''}, " if self.flushed else ""
            return f"Unmounted {self.mountpoint} ({pending}{self.seconds:.1f} s)"
        return f"Unmounted {self.mountpoint} (mirror synced back and removed, {self.seconds:.1f} s)"

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def already(m: Mount) -> Mount:
    """What a second mount of a live mount returns: the same facts, marked `already`, no handles."""
    public = {f.name: getattr(m, f.name) for f in fields(m) if not f.name.startswith("_")}
    return Mount(**{**public, "already": True})
