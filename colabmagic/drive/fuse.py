"""FUSE on this machine: whether a mount can be made (and so which mode), where mounts are, unmounting.

Nothing here starts rclone: this is what the kernel can see of FUSE itself (/dev/fuse,
fusermount3, /proc/self/mountinfo).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import MountError
from ..locale import tr


def choose_mode(mode: str) -> tuple[str, str]:
    """-> ("mount" or "mirror", why it was chosen when MODE was "auto"). MODE "mount" without FUSE: MountError."""
    fuse = Path("/dev/fuse").exists()
    fusermount = _fusermount_binary()
    if mode == "mirror":
        return "mirror", ""
    if mode == "mount":
        if not fuse:
            raise MountError(tr("--mode mount needs FUSE but /dev/fuse is missing (in Docker: --device /dev/fuse "
                                "--cap-add SYS_ADMIN): use --mode mirror"))
        if not fusermount:
            raise MountError(tr("--mode mount needs fusermount3: apt-get install fuse3 (or use --mode mirror)"))
        return "mount", ""
    if not fuse:
        return "mirror", tr("auto: /dev/fuse is missing")
    if not fusermount:
        return "mirror", tr("auto: fusermount3 is missing (apt-get install fuse3 for a real mount)")
    return "mount", ""


def is_refusal(message: str) -> bool:
    """Whether a failed mount's MESSAGE says FUSE exists but refuses us (a container without the right)."""
    lowered = message.lower()
    return any(word in lowered for word in ("fusermount", "/dev/fuse", "operation not permitted", "mount helper"))


def mounts_under(root: Path) -> list[Path]:
    """FUSE mounts at or below ROOT (from /proc/self/mountinfo), deepest first."""
    try:
        lines = Path("/proc/self/mountinfo").read_bytes().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        left, _, right = line.partition(b" - ")
        fields = left.split()
        if len(fields) < 5 or not right.startswith(b"fuse"):
            continue
        point = mountinfo_path(fields[4])
        if point == root or root in point.parents:
            found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def mountinfo_path(field: bytes) -> Path:
    """A mount point as /proc/self/mountinfo writes it: the file name's own bytes, with space, tab,
    newline and backslash as octal escapes (\\040). Decoded as the file system names are (UTF-8 é
    stays é: unicode_escape turned it into 'Ã©' and a mount under a non-ASCII home never matched)."""
    raw = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field)
    return Path(os.fsdecode(raw))


def unmount(point: Path, *, lazy: bool = False) -> subprocess.CompletedProcess:
    """fusermount3 -u POINT (-z: lazily, detached now and gone once nothing uses it)."""
    exe = _fusermount_binary()
    if exe is None:
        return subprocess.run(["umount", *(["-l"] if lazy else []), str(point)], capture_output=True, text=True)
    return subprocess.run([exe, "-u", *(["-z"] if lazy else []), str(point)], capture_output=True, text=True)


def _fusermount_binary() -> str | None:
    return shutil.which("fusermount3") or shutil.which("fusermount")
