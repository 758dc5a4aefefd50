"""Files that appear whole or not at all: NAME.part is written, flushed, fsynced and renamed.

A reader (or a process started after a crash) sees the old file or the complete new one, never a
torn one; a leftover NAME.part is just garbage to delete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable


def write_atomically(path: Path, write: Callable[[Any], None]) -> Path:
    """Call write(file) on PATH.part, flush, fsync, rename to PATH: readers see all of it or nothing."""
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, path)
    except BaseException:  # includes KeyboardInterrupt: never leave a half file behind
        part.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders, and needs no such step."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
