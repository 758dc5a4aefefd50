"""Mount records: what a kernel writes about its mount, and its watchdog and a later kernel read.

One record per mount point, in the one state folder (files.state_dir()/colabmagic-mounts), named
by a hash of the mount point. It names the kernel that owns the mount, its rclone mount process
and its watchdog by pid and start time (processes.ProcessIdentity): a pid alone could by now be
another process's. The watchdog keeps watching while the record names its kernel; a later kernel
tells a mount left behind from it, and cleans it up with what it says (socket, runtime folder,
bisync's working folder).

The format (DESIGN §3): a "colabmagic-mount" record of version 1. Records written before records
carried a version hold the same keys, so they read as version 1; they lack the start times of
rclone and the watchdog, and those two are then known by their command line, as they were then.
A newer major version is refused in one line (a MountError): it is not ours to clean up.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import MountError
from ..files import NewerRecord, read_record, state_dir, write_record
from ..locale import tr
from ..processes import ProcessIdentity

KIND = "colabmagic-mount"
VERSION = 1
# how the watchdog was started before its module moved: what a version-1 record's watchdog runs
OLD_WATCHDOG_COMMAND = "colabmagic.drive_watchdog"


@dataclass(frozen=True)
class MountRecord:
    mountpoint: str
    path: str                       # mountpoint/MyDrive or mountpoint/NAME: the remote's files
    mode: str                       # "mount" or "mirror"
    owner: int                      # the kernel that mounted: pid ...
    owner_start: int | None         # ... and start time (None where the system has no /proc)
    remote: str = ""                # what rclone was given ("gdrive:", ":drive:", "box:photos")
    readonly: bool = False
    pid: int | None = None          # mount: the `rclone mount` process
    pid_start: int | None = None
    socket: str | None = None       # mount: its remote control's unix socket
    runtime: str | None = None      # mount: the 0700 folder holding the socket and rclone's log
    workdir: str | None = None      # mirror: bisync's working folder
    watchdog: int | None = None     # the process that cleans up when the kernel is gone
    watchdog_start: int | None = None

    def __post_init__(self):
        # a record is read from a file anyone may have edited: a field of the wrong type makes
        # read_record answer None, not a record that fails half-way through a clean-up
        wrong = [name for name, ok in (
            ("mountpoint", isinstance(self.mountpoint, str)), ("path", isinstance(self.path, str)),
            ("mode", self.mode in ("mount", "mirror")), ("remote", isinstance(self.remote, str)),
            ("readonly", isinstance(self.readonly, bool)), ("owner", _is_count(self.owner, least=1)),
            *((name, _is_count(getattr(self, name), least=1, optional=True)) for name in ("pid", "watchdog")),
            *((name, _is_count(getattr(self, name), least=0, optional=True))
              for name in ("owner_start", "pid_start", "watchdog_start")),
            *((name, getattr(self, name) is None or isinstance(getattr(self, name), str))
              for name in ("socket", "runtime", "workdir"))) if not ok]
        if wrong:
            raise TypeError(f"a mount record cannot hold {', '.join(f'{n}={getattr(self, n)!r}' for n in wrong)}")

    @classmethod
    def of_this_kernel(cls, root: Path, path: Path, mode: str, **values) -> "MountRecord":
        """A record naming this process as the mount's owner."""
        me = ProcessIdentity.of(os.getpid())
        return cls(str(root), str(path), mode, os.getpid(), me.start if me else None, **values)

    @property
    def kernel(self) -> ProcessIdentity | None:
        return None if self.owner_start is None else ProcessIdentity(self.owner, self.owner_start)

    def rclone_process(self) -> ProcessIdentity | None:
        """The `rclone mount` process this record names, while it still runs."""
        return _running(self.pid, self.pid_start, "rclone")

    def watchdog_process(self) -> ProcessIdentity | None:
        """The watchdog this record names, while it still runs."""
        return _running(self.watchdog, self.watchdog_start, OLD_WATCHDOG_COMMAND)


def _is_count(value, *, least: int, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _running(pid: int | None, start: int | None, command: str) -> ProcessIdentity | None:
    if pid is None:
        return None
    if start is not None:
        named = ProcessIdentity(pid, start)
        return named if named.alive() else None
    # a version-1 record written before start times were kept: the command line is all there is
    try:
        ours = command in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    return ProcessIdentity.of(pid) if ours else None


def folder() -> Path:
    """Mount records, in the one state folder."""
    return state_dir() / "colabmagic-mounts"


def record_path(root: Path) -> Path:
    return folder() / (hashlib.sha256(str(root).encode()).hexdigest()[:16] + ".json")


def write(root: Path, record: MountRecord) -> Path:
    path = record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_record(path, KIND, VERSION, record, mode=0o600)
    return path


def read(root: Path) -> MountRecord | None:
    """The record of the mount at ROOT; None when there is none (or it is unreadable)."""
    path = record_path(root)
    try:
        return read_record(path, KIND, VERSION, MountRecord)
    except NewerRecord as err:
        raise MountError(tr("The mount record {path} is {error}, or unmount {root} with that colabmagic").format(
            path=path, error=err, root=root)) from None


def update(root: Path, **changes) -> Path | None:
    """Change some fields of ROOT's record; None (nothing written) when it has none."""
    record = read(root)
    return None if record is None else write(root, replace(record, **changes))


def remove(root: Path) -> None:
    record_path(root).unlink(missing_ok=True)
