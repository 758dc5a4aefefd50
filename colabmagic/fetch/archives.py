"""Archives: safe extraction of tar (any compression) and zip files, whole or not at all.

`extract` checks every member first: a member with an absolute path, a `..` component, a link or
a device is refused before anything is written, and so is an archive that unpacks to more than
BOMB_RATIO times its size (a zip bomb) or to more than the free space. It only ever adds: an
existing file or folder in the archive's way is kept as it is when it matches the archive (a
re-run), and anything else in the way (a file the archive does not hold, or holds differently)
makes it raise InTheWay before anything is written. Members are unpacked into a staging folder
and moved into place at the end.

`extract_replacing` (Kaggle's cache) unpacks into a staging folder renamed over the final one;
`extract_member` takes one file out; `top_level` and `unpacked_size` read what an archive holds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, NamedTuple

from .. import units
from ..errors import DataError, DownloadError, shown
from ..files import fsync_folder

__all__ = ["InTheWay", "extract", "extract_member", "extract_replacing", "top_level", "unpacked_size"]

BLOCK = 1 << 20  # bytes per read when copying or comparing a member
# Refused when they unpack to more than BOMB_RATIO times their size and more than BOMB_FLOOR (real
# datasets compress 2-30x; a zip bomb 1000x), or nest deeper than MAX_DEPTH.
BOMB_RATIO = 200
BOMB_FLOOR = 1 << 30  # bytes
MAX_DEPTH = 64
SPACE_MARGIN = 1 << 20  # bytes left free beyond what an extraction needs


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


# --- checks -------------------------------------------------------------------------------------

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
        raise DataError(f"Refusing to extract {archive.name}: it unpacks to {units.size(unpacked)} from "
                        f"{units.size(packed)} (over {BOMB_RATIO}x, as a zip bomb does); if you trust it, "
                        "unpack it yourself")
    existing = next(folder for folder in (target, *target.parents) if folder.is_dir())
    free = shutil.disk_usage(existing).free
    if unpacked + SPACE_MARGIN > free:
        raise DataError(f"Not enough disk space to extract {archive.name}: it needs {units.size(unpacked)}, "
                        f"{existing} has {units.size(free)} free; nothing was extracted")
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
                shutil.copyfileobj(src, out, BLOCK)
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
            while block := stream.read(BLOCK):
                h.update(block)
    return mine.digest() == theirs.digest()


# --- whole folders and single files, for Kaggle's cache ---------------------------------------

def extract_replacing(archive: Path, final: Path, *, space_hint: str = "free some space") -> Path:
    """Safely unpack archive into a staging folder next to `final`, then rename it to `final`
    (replacing an older one): the folder appears complete or not at all."""
    need, folder = unpacked_size(archive), final.parent
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if need and need + SPACE_MARGIN > free:
        raise DownloadError(f"Not enough disk space for unpacking {archive.name} ({units.size(need)}): it needs "
                            f"{units.size(need)} but {folder} has {units.size(free)} free; {space_hint} "
                            "(nothing was written)")
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=folder))
    try:
        extract(archive, staging)
        if final.is_dir() and not final.is_symlink():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if final.exists() or final.is_symlink():
                final.unlink()
            os.replace(staging, final)
        fsync_folder(final.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def extract_member(archive: Path, final: Path, member: str) -> None:
    """A single file served zipped (NAME.zip holding NAME): unpack it safely to `final`."""
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        extract(archive, staging)
        inner = staging / member
        if not inner.is_file():
            raise DataError(f"{archive.name} does not hold {member}: run again with --no-unzip to keep the zip")
        os.replace(inner, final)
        fsync_folder(final.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unpacked_size(archive: Path) -> int:
    """The bytes the archive's members add up to; 0 when it cannot be read (extract says why)."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                return sum(i.file_size for i in zf.infolist())
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                return sum(m.size for m in tar.getmembers())
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        pass
    return 0


def top_level(archive: Path) -> list[tuple[str, bool]]:
    """(name, is_folder) of the archive's top-level entries; [] when it is no archive (extract says so)."""
    names: list[str] = []
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tar:
            names = [m.name + ("/" if m.isdir() else "") for m in tar.getmembers()]
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    tops: dict[str, bool] = {}
    for name in names:
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        if parts:
            tops[parts[0]] = tops.get(parts[0], False) or len(parts) > 1 or name.endswith("/")
    return list(tops.items())
