"""Files: whole or not at all, shared safely between processes, in one state folder, as versioned records.

write_atomically writes a new temporary file beside the target (NAME.<random>.part), flushes,
fsyncs and renames it over NAME. A reader (or a process started after a crash) sees the old file
or the complete new one, never a torn one; a leftover *.part is just garbage to delete. The
temporary name is new for every write and created exclusively, never through a symlink: two
writers never share it, and nothing planted at a guessable name is opened, followed or truncated.

locked() serialises a read-modify-write across processes (the kernel and the Jupyter server
writing one session file, say): a per-process lock cannot. read_small_file reads a state file
that anyone may have replaced: never through a symlink, never a FIFO or a device. state_dir is
the one folder those state files live in.

Records are what one process writes and another reads (a kernel and the Jupyter server may run
different colabmagic versions): JSON objects that say what they are and which format version wrote
them. The rules (DESIGN §3): a reader ignores keys it does not know (a newer minor version added
them), and refuses a newer major version instead of misreading it. write_record/read_record do
that for a dataclass; encode_record/decode_record for a plain dict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from .locale import tr

# O_NOFOLLOW: a symlink at the name fails the open instead of being followed (POSIX; 0 elsewhere)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomically(path: Path, write: Callable[[Any], None], *, mode: int = 0o666) -> Path:
    """Call write(file) on a new temporary file, flush, fsync, rename to PATH: readers see all of
    it or nothing. MODE is the new file's permission before the umask (0o600 for secrets)."""
    path = Path(path)
    fd, part = new_part(path, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, path)
    except BaseException:  # includes KeyboardInterrupt: never leave a half file behind
        part.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def new_part(path: Path, mode: int = 0o666) -> tuple[int, Path]:
    """A new temporary file beside PATH (NAME.<random>.part), created exclusively and never through
    a symlink: (its descriptor, open for writing, and its path)."""
    while True:
        part = path.with_name(f"{path.name}.{os.urandom(4).hex()}.part")  # (the secrets module costs 3 ms to import)
        try:
            return os.open(part, _NEW_FILE, mode), part
        except FileExistsError:  # another writer's, or planted: never reuse a name
            continue


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


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on LOCK_FILE (created 0600 when missing, never through a
    symlink) for the block. Windows has no flock: there the block runs unlocked, writes stay atomic."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_small_file(path: Path, limit: int = 1 << 20) -> bytes | None:
    """PATH's bytes when it is a regular file of at most LIMIT bytes, else None (missing too).

    Opened without following a symlink and without waiting: a FIFO planted at a state file's name
    would otherwise block the reader (a server thread) until someone writes to it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, left = [], limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


STATE_ENV = "COLABMAGIC_STATE_DIR"


def state_dir() -> Path:
    """The one folder for what colabmagic's processes share (session states, the TensorBoard
    registry, mount records): $COLABMAGIC_STATE_DIR when set, else Jupyter's runtime dir, where the
    kernels' connection files live."""
    folder = os.environ.get(STATE_ENV)
    if folder:
        return Path(folder)
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return Path.home() / ".local" / "share" / "jupyter" / "runtime"
    return Path(jupyter_runtime_dir())


# the two keys every record carries (named so that no record's own field takes them: TensorBoard's
# registry has a "version" of its own)
FORMAT = "record_format"
VERSION = "record_version"


class NewerRecord(ValueError):
    """A record written by a newer, incompatible colabmagic."""


def encode_record(kind: str, version: int, values: dict[str, Any]) -> bytes:
    """VALUES as a `kind` record of format `version` (the major version: readers refuse a larger one)."""
    if FORMAT in values or VERSION in values:
        raise ValueError(f"a record's own fields cannot be named {FORMAT} or {VERSION}")
    return json.dumps({FORMAT: kind, VERSION: version, **values}, indent=1, sort_keys=True,
                      allow_nan=False).encode("utf-8")


def decode_record(kind: str, version: int, data: bytes | None) -> dict[str, Any] | None:
    """The record's values; None when DATA is no `kind` record (missing, not JSON, another kind).
    A record without a version is version 1's (written before records carried one). NewerRecord
    when its version is above ours."""
    if data is None:
        return None
    try:
        values = json.loads(data, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None
    if not isinstance(values, dict) or values.get(FORMAT, kind) != kind:
        return None
    written = values.get(VERSION, 1)
    if not isinstance(written, int) or isinstance(written, bool):
        return None
    if written > version:
        raise NewerRecord(tr("a {kind} record of version {written}, written by a newer colabmagic (this one reads "
                             "version {version} and older): upgrade colabmagic here").format(
                                 kind=kind, written=written, version=version))
    return {k: v for k, v in values.items() if k not in (FORMAT, VERSION)}


def record_fields(cls, values: dict[str, Any]) -> dict[str, Any]:
    """The VALUES a dataclass CLS has fields for: keys a newer writer added are left out."""
    known = {field.name for field in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in known}


def _refuse(constant: str):
    raise ValueError(f"{constant} is not standard JSON")


Record = TypeVar("Record")


def write_record(path: Path, kind: str, version: int, record, *, mode: int = 0o666) -> None:
    """The dataclass RECORD, whole, at PATH as a `kind` record of format VERSION."""
    data = encode_record(kind, version, dataclasses.asdict(record))
    write_atomically(path, lambda file: file.write(data), mode=mode)


def read_record(path: Path, kind: str, version: int, cls: type[Record]) -> Record | None:
    """The CLS record at PATH; None when there is none or it is unreadable (not JSON, another
    kind, fields of the wrong shape). NewerRecord when a newer colabmagic wrote it."""
    values = decode_record(kind, version, read_small_file(path))
    if values is None:
        return None
    try:
        return cls(**record_fields(cls, values))
    except (TypeError, ValueError):
        return None
