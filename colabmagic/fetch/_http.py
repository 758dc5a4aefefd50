"""Plain HTTP(S) downloads and safe archive extraction, standard library only.

- `download` streams to `DEST.part`, resumes an existing `.part` with an HTTP Range request when
  the server honours it, verifies md5/sha256, fsyncs and renames: the final file appears whole or
  not at all, and a file whose checksum does not match is removed, never left behind.
- `extract` unpacks a tar (any compression) or zip archive after checking every member first: a
  member with an absolute path, a `..` component, a link or a device is refused before anything
  is written. It only ever adds: an existing file or folder in the archive's way is kept as it
  is when it matches the archive (a re-run), and anything else in the way (a file the archive
  does not hold, or holds differently) makes it raise InTheWay before anything is written.

Nothing here knows about datasets; `kaggle.py` and `gdrive.py` build on the same two functions.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, NamedTuple

from ..files import fsync_folder
from ..errors import DataError, DownloadError, NetworkError, shown  # NetworkError re-exported: fetch._http.NetworkError

__all__ = ["InTheWay", "NetworkError", "download", "extract"]

CHUNK = 1 << 20  # bytes read per network call and per hashing step
# Archives: refused when they unpack to more than BOMB_RATIO times their size and more than
# BOMB_FLOOR (real datasets compress 2-30x; a zip bomb 1000x), or nest deeper than MAX_DEPTH.
BOMB_RATIO = 200
BOMB_FLOOR = 1 << 30  # bytes
MAX_DEPTH = 64
SPACE_MARGIN = 1 << 20  # bytes left free beyond what an extraction needs

# progress(done_bytes, total_bytes_or_None), called after every chunk
Progress = Callable[[int, "int | None"], None]


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None,
             resume: bool = True, progress: Progress | None = None, timeout: float = 30) -> Path:
    """Download `url` to `dest` and return `dest`.

    An existing `dest` is kept when it matches the checksum (or when none is given). The bytes go
    to `dest.part` first; with `resume` an existing `.part` is continued with `Range: bytes=N-`
    (a server that answers 200 instead of 206 gets a fresh download). `timeout` is seconds per
    network operation, not for the whole transfer.

    Raises NetworkError (unreachable, HTTP error status, connection lost: a `.part` with bytes
    in it stays for a resume) or DownloadError (checksum mismatch: the `.part` is removed).
    """
    dest = Path(dest)
    expected = _expected_digests(sha256=sha256, md5=md5)
    if dest.is_file() and (not expected or _digests_match(_hex(_hash_file(dest, expected)), expected)):
        return dest
    part = dest.with_name(dest.name + ".part")
    if not resume:
        part.unlink(missing_ok=True)
    offset = part.stat().st_size if part.is_file() else 0

    try:
        response = _open(url, offset, timeout)
    except _RangeNotSatisfiable:
        # The .part is already as long as the file: it is either complete or wrong.
        if _digests_match(_hex(_hash_file(part, expected)), expected):
            return _finish(part, dest)
        part.unlink()
        response = _open(url, 0, timeout)

    with response:
        resumed = offset > 0 and response.status == 206 and _range_start(response) == offset
        if not resumed:
            offset = 0
        hashers = _hash_file(part, expected) if resumed else _new_hashers(expected)
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        done = offset
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "ab" if resumed else "wb") as out:
            try:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    for h in hashers.values():
                        h.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            except (OSError, http.client.HTTPException) as err:  # reset, timeout: keep the .part
                raise NetworkError(f"Download of {url} broke off after {done} bytes ({_reason(err)}); "
                                   "run again to resume") from err
            finally:
                out.flush()
                os.fsync(out.fileno())

    if total is not None and done < total:
        raise NetworkError(f"Download of {url} ended early ({done} of {total} bytes); run again to resume")
    got = _hex(hashers)
    if not _digests_match(got, expected):
        part.unlink(missing_ok=True)
        detail = ", ".join(f"expected {name} {expected[name]}, got {got[name]}"
                           for name in expected if got[name] != expected[name])
        raise DownloadError(f"Checksum mismatch for {dest.name} from {url} ({detail}); the file was removed")
    return _finish(part, dest)


class InTheWay(DataError):
    """An existing file or folder stands where the archive would write and is not what the archive
    holds: nothing was extracted. `entry` is the top-level path in the way, `detail` says why."""

    def __init__(self, message: str, *, entry: Path, detail: str):
        super().__init__(message)
        self.entry, self.detail = entry, detail


def extract(archive: str | os.PathLike, target_dir: str | os.PathLike, *, exclusive: bool = False) -> Path:
    """Unpack a tar (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) or .zip archive into `target_dir`.

    Every member is checked before anything is written: absolute paths, `..` components,
    symbolic and hard links, devices and FIFOs make it raise DataError and write nothing.
    Nothing that exists is ever removed or overwritten: an existing top-level entry of the archive
    (with `exclusive`, the whole of `target_dir`) may only hold what the archive holds, byte for
    byte (an earlier extraction of the same archive); it is completed, not replaced. Anything else
    in the way raises InTheWay and writes nothing. Members are unpacked into a temporary folder
    inside `target_dir` and moved into place at the end. Returns `target_dir`.
    """
    archive, target = Path(archive), Path(target_dir)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_tar_member(archive, member)
            _unpack(archive, target, [_Member(m.name, m.isdir(), m.size, lambda m=m: tar.extractfile(m))
                                      for m in members], exclusive)
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_zip_member(archive, info)
            # zipfile reads no more than a member's declared file_size (and checks its CRC): the
            # sizes the checks below add up are the bytes that will be written
            _unpack(archive, target, [_Member(i.filename, i.is_dir(), i.file_size, lambda i=i: zf.open(i))
                                      for i in infos], exclusive)
    else:
        raise DataError(f"{archive} is not a tar or zip archive (or it is damaged): delete it and try again")
    return target


# --- downloading ------------------------------------------------------------------------------

class _RangeNotSatisfiable(Exception):
    pass


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and offset:
            raise _RangeNotSatisfiable from err
        raise NetworkError(f"Download of {url} failed: HTTP {err.code} {err.reason}") from err
    except (http.client.InvalidURL, ValueError):  # a space or a control character in it; no scheme
        raise DownloadError(f"Not a valid URL: {shown(url)!r} (write a space as %20)") from None
    except (urllib.error.URLError, OSError) as err:  # refused, DNS failure, timeout, TLS
        host = urllib.parse.urlsplit(url).hostname or url
        raise NetworkError(f"Cannot reach {host}: {_reason(err)}") from err


@functools.cache
def user_agent() -> str:
    """colabmagic/VERSION, read from the installed package's metadata (no import of the package's
    entry point from down here: imports only go downwards)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        return f"colabmagic/{version('colabmagic')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "colabmagic"


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", err)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


def _range_start(response) -> int | None:
    # "Content-Range: bytes 100-199/200"
    value = response.headers.get("Content-Range", "")
    unit, _, spec = value.partition(" ")
    start = spec.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _finish(part: Path, dest: Path) -> Path:
    os.replace(part, dest)
    fsync_folder(dest.parent)
    return dest


# --- checksums --------------------------------------------------------------------------------

def _expected_digests(*, sha256: str | None, md5: str | None) -> dict[str, str]:
    expected = {name: value.strip().lower() for name, value in (("sha256", sha256), ("md5", md5)) if value}
    lengths = {"sha256": 64, "md5": 32}
    for name, value in expected.items():
        if len(value) != lengths[name] or any(c not in "0123456789abcdef" for c in value):
            raise ValueError(f"{name} must be {lengths[name]} hex digits, got {value!r}")
    return expected


def _new_hashers(expected: dict[str, str]) -> dict[str, "hashlib._Hash"]:
    return {name: hashlib.new(name, usedforsecurity=False) for name in expected}


def _hash_file(path: Path, expected: dict[str, str]) -> dict[str, "hashlib._Hash"]:
    """Hashers for each expected algorithm, fed with the file's bytes (more can follow)."""
    hashers = _new_hashers(expected)
    if not hashers:
        return hashers
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            for h in hashers.values():
                h.update(block)
    return hashers


def _hex(hashers: dict[str, "hashlib._Hash"]) -> dict[str, str]:
    return {name: h.hexdigest() for name, h in hashers.items()}


def _digests_match(got: dict[str, str], expected: dict[str, str]) -> bool:
    return all(got.get(name) == value for name, value in expected.items())


# --- extraction -------------------------------------------------------------------------------

def _check_name(archive: Path, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"Refusing to extract {archive.name}: member {shown(name)!r} has an absolute path")
    if ".." in path.parts:
        raise DataError(f"Refusing to extract {archive.name}: member {shown(name)!r} points outside the target folder")
    if len(path.parts) > MAX_DEPTH or any(len(os.fsencode(part)) > 255 for part in path.parts):
        raise DataError(f"Refusing to extract {archive.name}: member {shown(name)!r} is nested deeper than "
                        f"{MAX_DEPTH} folders or has a name longer than 255 bytes")


def _check_archive(archive: Path, target: Path, members: list[_Member]) -> None:
    """What no single member shows: a file that is also a folder, the unpacked size against the
    archive's (a zip bomb) and against the free space. Before anything is written."""
    files = {PurePosixPath(m.name.replace("\\", "/")) for m in members if not m.is_dir}
    for member in members:
        for parent in PurePosixPath(member.name.replace("\\", "/")).parents:
            if parent in files:
                raise DataError(f"Refusing to extract {archive.name}: it holds both a file {shown(parent)!r} "
                                f"and {shown(member.name)!r} inside it")
    unpacked = sum(m.size for m in members if not m.is_dir)
    packed = max(archive.stat().st_size, 1)
    if unpacked > BOMB_FLOOR and unpacked > BOMB_RATIO * packed:
        raise DataError(f"Refusing to extract {archive.name}: it unpacks to {unpacked / 2**30:.1f} GiB from "
                        f"{packed / 2**20:.1f} MiB (over {BOMB_RATIO}x, as a zip bomb does); if you trust it, "
                        "unpack it yourself")
    existing = next(folder for folder in (target, *target.parents) if folder.is_dir())
    free = shutil.disk_usage(existing).free
    if unpacked + SPACE_MARGIN > free:
        raise DataError(f"Not enough disk space to extract {archive.name}: it needs {unpacked / 2**20:,.1f} MiB, "
                        f"{existing} has {free / 2**20:,.1f} MiB free; nothing was extracted")
    target.mkdir(parents=True, exist_ok=True)


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    _check_name(archive, member.name)
    if member.issym() or member.islnk():
        raise DataError(f"Refusing to extract {archive.name}: member {member.name!r} is a link")
    if not (member.isfile() or member.isdir()):
        raise DataError(f"Refusing to extract {archive.name}: member {member.name!r} is not a file or folder")


def _check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    _check_name(archive, info.filename)
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no file type
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise DataError(f"Refusing to extract {archive.name}: member {info.filename!r} is a link or device")


class _Member(NamedTuple):
    name: str
    is_dir: bool
    size: int
    open: Callable


STAGING_PREFIX = ".extracting-"


def _unpack(archive: Path, target: Path, members: list[_Member], exclusive: bool) -> None:
    """Check what is in the way, write the members under a temporary folder, then move in what is missing."""
    _check_nothing_in_the_way(archive, target, members, exclusive)
    _check_archive(archive, target, members)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
    try:
        root = staging.resolve()
        for member in members:
            path = (staging / member.name.replace("\\", "/")).resolve()
            if path != root and root not in path.parents:  # belt and braces after _check_name
                raise DataError(f"Refusing to extract member {member.name!r}: it points outside the target folder")
            if member.is_dir:
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with member.open() as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
        for entry in staging.iterdir():
            _move_in(entry, target / entry.name)
    except OSError as err:  # the disk filled up anyway (another writer took the space): one line
        raise DataError(f"Could not extract {archive.name} into {target}: {err.strerror}; "
                        "nothing was extracted") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_in(staged: Path, final: Path) -> None:
    """Move what `final` lacks from `staged`; what is there already matched the archive (checked)."""
    if not os.path.lexists(final):
        os.replace(staged, final)
    elif staged.is_dir():
        for child in staged.iterdir():
            _move_in(child, final / child.name)


def _check_nothing_in_the_way(archive: Path, target: Path, members: list[_Member], exclusive: bool) -> None:
    """Raise InTheWay unless every existing path where the archive writes is what the archive holds."""
    expected: dict[str, _Member | None] = {}  # relative path -> member (None: a folder implied by its files)
    for member in members:
        parts = [p for p in member.name.replace("\\", "/").split("/") if p not in ("", ".")]
        for depth in range(1, len(parts)):
            expected.setdefault("/".join(parts[:depth]), None)
        if parts:
            expected["/".join(parts)] = member
    if exclusive:
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise InTheWay(f"{target} already exists and is not a folder: remove it, or extract {archive.name} "
                           "somewhere else", entry=target, detail="it is not a folder")
        tops = [p.name for p in target.iterdir() if not p.name.startswith(STAGING_PREFIX)] if target.is_dir() else []
    else:
        tops = [name for name in expected if "/" not in name]
    for top in sorted(tops):
        for path in _existing_tree(target / top):
            relative = path.relative_to(target).as_posix()
            why = _why_in_the_way(archive, path, relative, expected)
            if why:
                entry = target if exclusive else target / top
                shown = f"{entry}/" if entry.is_dir() and not entry.is_symlink() else str(entry)
                raise InTheWay(f"{shown} already exists ({why}): remove it, or extract {archive.name} somewhere "
                               "else; nothing was extracted", entry=entry, detail=why)


def _existing_tree(path: Path):
    """path and everything under it, without following symbolic links; nothing when it does not exist."""
    if not os.path.lexists(path):
        return
    yield path
    if path.is_dir() and not path.is_symlink():
        for child in sorted(path.iterdir()):
            yield from _existing_tree(child)


def _why_in_the_way(archive: Path, path: Path, relative: str, expected: dict[str, "_Member | None"]) -> str:
    """Why the existing `path` is not what the archive puts at `relative`; empty when it is."""
    if relative not in expected:
        return f"{relative} is not in {archive.name}"
    if path.is_symlink():
        return f"{relative} is a symbolic link"
    member = expected[relative]
    wants_folder = member is None or member.is_dir
    if wants_folder != path.is_dir():
        return f"{relative} is a {'file' if wants_folder else 'folder'} where {archive.name} has a " \
               f"{'folder' if wants_folder else 'file'}"
    if not wants_folder and not _same_bytes(path, member):
        return f"{relative} differs from the one in {archive.name}"
    return ""


def _same_bytes(path: Path, member: _Member) -> bool:
    if path.stat().st_size != member.size:
        return False
    mine, theirs = hashlib.sha256(usedforsecurity=False), hashlib.sha256(usedforsecurity=False)
    with open(path, "rb") as f, member.open() as src:
        for stream, h in ((f, mine), (src, theirs)):
            while block := stream.read(CHUNK):
                h.update(block)
    return mine.digest() == theirs.digest()
