"""Placing fetched files under --path: hard links (or copies, across file systems) of kagglehub's
cached files into a folder of the user's choice, checked before anything is placed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ...errors import DataError
from ...files import new_part
from ...locale import tr


def list_files(root: Path) -> list[tuple[str, int]]:
    """(relative POSIX path, size) of every file under root ("." and its size for a file)."""
    if root.is_file():
        return [(".", root.stat().st_size)]
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".extracting-"))
        for name in sorted(names):
            full = Path(folder, name)
            out.append((full.relative_to(root).as_posix(), full.lstat().st_size))
    return out


def place(source: Path, folder: Path, *, force: bool = False) -> tuple[Path, str]:
    """Hard-link (or copy, across file systems) the fetched files into `folder`.

    A folder's files keep their relative paths; a single file goes to folder/NAME. Everything is
    checked before anything is placed: a symlink in the source, a destination that resolves
    outside `folder` (through an existing symlink) or an existing different file (without force)
    makes it raise and place nothing. Files already there and identical are left alone.
    Returns (the path to use, "linked" or "copied").
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    pairs = _pairs(source, folder)
    plan = []
    for src, dest in pairs:
        parent = dest.parent
        probe = parent
        while not probe.exists() and probe != folder:
            probe = probe.parent
        if probe.resolve() != root and root not in probe.resolve().parents:
            raise DataError(tr("Refusing to place {path}: {link} leads outside {folder}").format(
                path=dest, link=probe, folder=folder))
        if dest.is_symlink():
            if not force:
                raise DataError(tr("{path} is a symbolic link: remove it, or run again with --force to replace "
                                   "it").format(path=dest))
        elif dest.exists():
            if dest.is_dir():
                raise DataError(tr("{path} is a folder where a file of the dataset goes: move it away").format(
                    path=dest))
            if _same(src, dest):
                continue
            if not force:
                raise DataError(tr("{path} already exists and differs from the downloaded file: run again with "
                                   "--force to replace it").format(path=dest))
        plan.append((src, dest))
    how = "linked"
    for src, dest in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if _place_one(src, dest) == "copied":
            how = "copied"
    if not plan and pairs and not all(os.path.samefile(s, d) for s, d in pairs):
        how = "copied"
    return (folder / source.name if source.is_file() else folder), how


def _place_one(src: Path, dest: Path) -> str:
    """dest, whole: a hard link (or a copy) made under a fresh name, then renamed over dest. The
    fresh name is never one that exists: a link fails on it and a copy is made into a file created
    exclusively (files.new_part), so nothing planted there is followed or written through."""
    while True:
        tmp = dest.with_name(f".{dest.name}.{os.urandom(4).hex()}.part")
        try:
            os.link(src, tmp)
            how = "linked"
            break
        except FileExistsError:
            continue
        except OSError:  # another file system, or one without hard links
            fd, tmp = new_part(dest)
            try:
                with os.fdopen(fd, "wb") as out, open(src, "rb") as data:
                    shutil.copyfileobj(data, out, 1 << 20)
                shutil.copystat(src, tmp)  # the modification time tells an earlier copy is the same
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            how = "copied"
            break
    os.replace(tmp, dest)
    return how


def _pairs(source: Path, folder: Path) -> list[tuple[Path, Path]]:
    if source.is_symlink():
        raise DataError(tr("Refusing to place {path}: it is a symbolic link").format(path=source))
    if source.is_file():
        return [(source, folder / source.name)]
    pairs = []
    for current, dirs, names in os.walk(source):
        for name in dirs + names:
            full = Path(current, name)
            if full.is_symlink():
                raise DataError(tr("Refusing to place {path}: it is a symbolic link").format(path=full))
        for name in sorted(names):
            full = Path(current, name)
            if not full.is_file():
                raise DataError(tr("Refusing to place {path}: it is not a plain file").format(path=full))
            pairs.append((full, folder / full.relative_to(source)))
    return pairs


def _same(a: Path, b: Path) -> bool:
    """The same file (a hard link), or a copy with the same bytes (size and modification time first)."""
    import filecmp

    sa, sb = a.stat(), b.stat()
    if os.path.samestat(sa, sb) or (sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns):
        return True
    return sa.st_size == sb.st_size and filecmp.cmp(a, b, shallow=False)
