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

from ..locale import tr, trn


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
            failed = tr("; the last sync failed: {error}").format(error=self.last_error) if self.last_error else ""
            return tr("{remote} is already mounted at {path} (mode {mode}); to mount it again use "
                      "--force-remount{failed}").format(remote=self.remote, path=self.path, mode=self.mode,
                                                        failed=failed)
        if self.mode == "mount":
            how = (tr("rclone FUSE mount, write cache, read-only") if self.readonly
                   else tr("rclone FUSE mount, write cache, read-write"))
        elif self.readonly:
            how = tr("local mirror pulled every {seconds:.0f} s, read-only: nothing is pushed").format(
                seconds=self.interval)
        else:
            how = tr("local mirror, changes pushed every {seconds:.0f} s and on %unmount_drive").format(
                seconds=self.interval)
        said = (tr("Mounted {remote} at {path} (mode {mode}: {how}; {why}) in {seconds:.1f} s") if self.why
                else tr("Mounted {remote} at {path} (mode {mode}: {how}) in {seconds:.1f} s"))
        return said.format(remote=self.remote, path=self.path, mode=self.mode, how=how, why=self.why,
                           seconds=self.seconds)

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
            if self.flushed:
                return trn("Unmounted {path} (flushed {n} pending upload, {seconds:.1f} s)",
                           "Unmounted {path} (flushed {n} pending uploads, {seconds:.1f} s)", self.flushed).format(
                    path=self.mountpoint, n=self.flushed, seconds=self.seconds)
            return tr("Unmounted {path} ({seconds:.1f} s)").format(path=self.mountpoint, seconds=self.seconds)
        return tr("Unmounted {path} (mirror synced back and removed, {seconds:.1f} s)").format(
            path=self.mountpoint, seconds=self.seconds)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def already(m: Mount) -> Mount:
    """What a second mount of a live mount returns: the same facts, marked `already`, no handles."""
    public = {f.name: getattr(m, f.name) for f in fields(m) if not f.name.startswith("_")}
    return Mount(**{**public, "already": True})
