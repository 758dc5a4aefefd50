"""The bytes of a download that is not finished: where they wait between runs, and where a run writes.

Between runs they wait at NAME.part, with NAME.part.json saying which version of the remote file
they are of (the validator If-Range sends). A run never writes to that name: it writes to a fresh
file of its own (files.new_part: NAME.<random>.part, created exclusively, never through a
symlink), into which it moves NAME.part when it resumes (a rename moves the name, it follows
nothing; a hard link planted there is left alone). At the end the fresh file is renamed to NAME
(complete), back to NAME.part (broken off: resumable) or removed.

A run holds an advisory lock on its file while it writes: a file NAME.<random>.part that nobody
holds is one a killed process left behind (Jupyter SIGTERMs kernels), and the next run resumes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..files import NewerRecord, fsync_folder, new_part, read_record, write_record

RECORD_KIND, RECORD_VERSION = "colabmagic.download-part", 1
_REOPEN = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass
class PartRecord:
    """What the bytes in NAME.part are of."""

    validator: str = ""          # the remote file's strong ETag or Last-Modified; "" when it sent neither


class Partial:
    """One destination's bytes in progress (see the module's docstring)."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.kept = dest.with_name(dest.name + ".part")
        self.record_path = dest.with_name(dest.name + ".part.json")
        self.path: Path | None = None   # the fresh file this run writes
        self.fd: int | None = None

    # --- before the transfer -------------------------------------------------------------------

    def adopt(self) -> tuple[int, str | None]:
        """Move resumable bytes (NAME.part, or a dead run's file) into a fresh file of this run's.
        Returns (their length, their validator or None). Creates nothing when there are none."""
        source = self._resumable()
        if source is None:
            return 0, None
        self.create()
        self._close()
        with contextlib.suppress(FileNotFoundError):  # another run took it first: ours stays empty
            os.replace(source, self.path)
        self.fd = os.open(self.path, _REOPEN)
        self._lock()
        info = os.fstat(self.fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:  # swapped under us: start over
            self.discard()
            return 0, None
        if not info.st_size:
            return 0, None
        os.lseek(self.fd, 0, os.SEEK_END)
        return info.st_size, self._validator()

    def create(self) -> None:
        """The fresh, empty file this run writes (its folder made when missing)."""
        if self.fd is not None:
            return
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.fd, self.path = new_part(self.dest)
        self._lock()

    def forget_kept(self) -> None:
        """Drop what waits at NAME.part (resume=False): unlinking a name removes no file it points to."""
        for path in (self.kept, self.record_path):
            path.unlink(missing_ok=True)

    # --- during it -----------------------------------------------------------------------------

    def note_validator(self, validator: str | None) -> None:
        """Say which version of the remote file these bytes are of, before the first byte is written."""
        if validator:
            write_record(self.record_path, RECORD_KIND, RECORD_VERSION, PartRecord(validator))
        else:
            self.record_path.unlink(missing_ok=True)

    def restart(self) -> None:
        """The remote file changed, or the server ignored the Range: its bytes start again at 0."""
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)

    # --- after it ------------------------------------------------------------------------------

    def finish(self) -> Path:
        """Complete and synced: the fresh file becomes NAME."""
        self._close()
        os.replace(self.path, self.dest)
        self.path = None
        self.record_path.unlink(missing_ok=True)
        fsync_folder(self.dest.parent)
        return self.dest

    def keep(self) -> None:
        """Broke off: the bytes wait at NAME.part for the next run (nothing to keep: removed)."""
        if self.path is None:
            return
        self._close()
        try:
            size = os.lstat(self.path).st_size
        except FileNotFoundError:
            size = 0
        if size:
            os.replace(self.path, self.kept)
        else:
            self.path.unlink(missing_ok=True)
            self.record_path.unlink(missing_ok=True)
        self.path = None

    def discard(self) -> None:
        """Nothing worth keeping (wrong checksum, disk full): every trace removed."""
        self._close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None
        self.forget_kept()

    # --- inside --------------------------------------------------------------------------------

    def _resumable(self) -> Path | None:
        with contextlib.suppress(OSError):
            info = os.lstat(self.kept)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_size:
                return self.kept
        return self._orphan()

    def _orphan(self) -> Path | None:
        """The largest NAME.<random>.part no running process holds."""
        try:
            import fcntl
        except ImportError:  # Windows: no flock, no way to tell a dead run's file from a live one's
            return None
        found: list[tuple[int, Path]] = []
        name = re.compile(re.escape(self.dest.name) + r"\.[0-9a-f]{8}\.part")  # files.new_part's names only
        for path in self.dest.parent.glob(f"{self.dest.name}.*.part") if self.dest.parent.is_dir() else ():
            if not name.fullmatch(path.name):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                info = os.fstat(fd)
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_size:
                    found.append((info.st_size, path))
            except OSError:  # held: a live download writes it
                continue
            finally:
                os.close(fd)
        return max(found)[1] if found else None

    def _lock(self) -> None:
        with contextlib.suppress(ImportError, OSError):
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _validator(self) -> str | None:
        try:
            record = read_record(self.record_path, RECORD_KIND, RECORD_VERSION, PartRecord)
        except NewerRecord:
            return None
        return record.validator if record is not None and record.validator else None

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
