"""Archives: safe extraction of tar (any compression) and zip files, whole or not at all.

`extract` checks every member first: a member with an absolute path, a `..` component, a link or
a device is refused before anything is written, and so is an archive that unpacks to more than
BOMB_RATIO times its size (a zip bomb) or to more than the free space. It only ever adds: an
existing file or folder in the archive's way is kept as it is when it matches the archive (a
re-run), and anything else in the way (a file the archive does not hold, or holds differently)
makes it raise InTheWay before anything is written. Members are unpacked into a staging folder
and moved into place at the end.

`top_level` and `unpacked_size` read what an archive holds (fetch/kaggle/unpacking.py puts Kaggle's
downloads into its cache with `extract`).
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
from ..errors import DataError, shown
from ..locale import tr

__all__ = ["SPACE_MARGIN", "InTheWay", "extract", "top_level", "unpacked_size"]

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
        raise DataError(tr("{archive} is not a tar or zip archive (or it is damaged): delete it and try again").format(
            archive=archive))
    return target


# --- checks -------------------------------------------------------------------------------------

def _check_name(archive: Path, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        why = tr("Refusing to extract {archive}: member {member!r} has an absolute path")
    elif ".." in path.parts:
        why = tr("Refusing to extract {archive}: member {member!r} points outside the target folder")
    elif len(path.parts) > MAX_DEPTH or any(len(os.fsencode(part)) > 255 for part in path.parts):
        why = tr("Refusing to extract {archive}: member {member!r} is nested deeper than {depth} folders or has a "
                 "name longer than 255 bytes")
    else:
        return
    raise DataError(why.format(archive=archive.name, member=shown(name), depth=MAX_DEPTH))


def _check_archive(archive: Path, target: Path, members: list[_Member]) -> None:
    """What no single member shows: a file that is also a folder, the unpacked size against the
    archive's (a zip bomb) and against the free space. Before anything is written."""
    files = {PurePosixPath(m.name.replace("\\", "/")) for m in members if not m.is_dir}
    for member in members:
        for parent in PurePosixPath(member.name.replace("\\", "/")).parents:
            if parent in files:
                raise DataError(tr("Refusing to extract {archive}: it holds both a file {file!r} and {member!r} "
                                   "inside it").format(archive=archive.name, file=shown(parent),
                                                       member=shown(member.name)))
    unpacked = sum(m.size for m in members if not m.is_dir)
    packed = max(archive.stat().st_size, 1)
    if unpacked > BOMB_FLOOR and unpacked > BOMB_RATIO * packed:
        raise DataError(tr("Refusing to extract {archive}: it unpacks to {unpacked} from {packed} (over {ratio}x, "
                           "as a zip bomb does); if you trust it, unpack it yourself").format(
            archive=archive.name, unpacked=units.size(unpacked), packed=units.size(packed), ratio=BOMB_RATIO))
    existing = next(folder for folder in (target, *target.parents) if folder.is_dir())
    free = shutil.disk_usage(existing).free
    if unpacked + SPACE_MARGIN > free:
        raise DataError(tr("Not enough disk space to extract {archive}: it needs {need}, {folder} has {free} free; "
                           "nothing was extracted").format(archive=archive.name, need=units.size(unpacked),
                                                           folder=existing, free=units.size(free)))
    target.mkdir(parents=True, exist_ok=True)


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    _check_name(archive, member.name)
    if member.issym() or member.islnk():
        raise DataError(tr("Refusing to extract {archive}: member {member!r} is a link").format(
            archive=archive.name, member=member.name))
    if not (member.isfile() or member.isdir()):
        raise DataError(tr("Refusing to extract {archive}: member {member!r} is not a file or folder").format(
            archive=archive.name, member=member.name))


def _check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    _check_name(archive, info.filename)
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no file type
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise DataError(tr("Refusing to extract {archive}: member {member!r} is a link or device").format(
            archive=archive.name, member=info.filename))


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
                raise DataError(tr("Refusing to extract member {member!r}: it points outside the target folder").format(
                    member=member.name))
            if member.is_dir:
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with member.open() as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, BLOCK)
        for entry in staging.iterdir():
            _move_in(entry, target / entry.name)
    except OSError as err:  # the disk filled up anyway (another writer took the space): one line
        raise DataError(tr("Could not extract {archive} into {target}: {why}; nothing was extracted").format(
            archive=archive.name, target=target, why=err.strerror)) from None
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
            raise InTheWay(tr("{target} already exists and is not a folder: remove it, or extract {archive} somewhere "
                              "else").format(target=target, archive=archive.name),
                           entry=target, detail=tr("it is not a folder"))
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
                raise InTheWay(tr("{entry} already exists ({why}): remove it, or extract {archive} somewhere else; "
                                  "nothing was extracted").format(entry=shown, why=why, archive=archive.name),
                               entry=entry, detail=why)


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
    member = expected.get(relative)
    wants_folder = member is None or member.is_dir
    if relative not in expected:
        why = tr("{path} is not in {archive}")
    elif path.is_symlink():
        why = tr("{path} is a symbolic link")
    elif wants_folder and not path.is_dir():
        why = tr("{path} is a file where {archive} has a folder")
    elif not wants_folder and path.is_dir():
        why = tr("{path} is a folder where {archive} has a file")
    elif not wants_folder and not _same_bytes(path, member):
        why = tr("{path} differs from the one in {archive}")
    else:
        return ""
    return why.format(path=relative, archive=archive.name)


def _same_bytes(path: Path, member: _Member) -> bool:
    if path.stat().st_size != member.size:
        return False
    mine, theirs = hashlib.sha256(usedforsecurity=False), hashlib.sha256(usedforsecurity=False)
    with open(path, "rb") as f, member.open() as src:
        for stream, h in ((f, mine), (src, theirs)):
            while block := stream.read(BLOCK):
                h.update(block)
    return mine.digest() == theirs.digest()


# --- what an archive holds ------------------------------------------------------------------

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
