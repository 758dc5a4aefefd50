"""`download(text, dest)`: what %drive_get calls. A Drive file or folder goes through gdown
(transfer.py), a plain URL through the one downloader (fetch/download.py: Range/If-Range resume,
checksum, a fresh temporary file renamed when whole); `unzip` extracts the archive safely next to
it (fetch/archives.py: nothing may land outside the target, and a folder in the way that holds
anything the archive does not is left alone: one clear line)."""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

from ...errors import ConfigError, DownloadError
from ...locale import tr
from ..archives import InTheWay, extract, top_level
from ..download import download as download_url
from ..progress import ByteProgress
from .destination import target_path, url_name
from .link import Source, parse
from .result import Downloaded
from .transfer import get_drive_file, get_drive_folder


def download(text: str, dest: str | os.PathLike | None = None, *, folder: bool = False,
             unzip: bool = False, sha256: str | None = None, progress: bool = True,
             timeout: float = 60, retries: int = 2) -> Downloaded:
    """Fetch a Drive file/folder or a plain URL to `dest` (default: the current folder).

    `dest` that is an existing folder or ends with "/" receives the file under its own name;
    otherwise it is the file's path (for a folder: the folder to fill). `sha256` is checked before
    the final name appears; a mismatch removes the file. `timeout` is seconds without any byte;
    `retries` is how often gdown reconnects (with Range) within one call after a dropped connection.
    """
    source = parse(text, folder=folder)
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ConfigError(tr("--sha256 needs 64 hex digits, got {value!r}").format(value=sha256))
        if source.kind == "folder":
            raise ConfigError(tr("--sha256 checks one file: it does not apply to a folder"))
    started = time.perf_counter()
    bar = ByteProgress(source.id or url_name(source.url), enabled=progress)
    try:
        with bar:
            if source.kind == "url":
                result = _get_url(source, dest, sha256, bar, timeout)
            elif source.kind == "file":
                result = get_drive_file(source, dest, sha256, bar, timeout, retries)
            else:
                result = get_drive_folder(source, dest, bar, timeout, retries)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise DownloadError(tr("No space left on the disk while downloading {url}: free some space and run the "
                                   "same line again to resume").format(url=source.view_url)) from err
        raise
    result.seconds = time.perf_counter() - started
    if unzip:
        if result.path.is_dir():
            raise ConfigError(tr("--unzip needs a single archive, not a folder"))
        result.archive = result.path
        result.path = unpack_next_to(result.path)
    return result


def _get_url(source: Source, dest, sha256, bar: ByteProgress, timeout: float) -> Downloaded:
    target = target_path(dest, url_name(source.url))
    reused = target.is_file() and not target.with_name(target.name + ".part").exists()
    path = download_url(source.url, target, sha256=sha256, progress=bar, timeout=timeout)
    reused = reused and bar.bytes == 0
    return Downloaded(path=path, source=source, files=[(path, path.stat().st_size)], reused=reused)


def unpack_next_to(archive: Path) -> Path:
    """Extract next to the archive: into its parent when it holds one top-level folder, else into
    a folder named after it (data.zip -> data/). Returns the folder the data is in. A folder of
    that name is only completed when it holds nothing but what the archive holds (a re-run); one
    with anything else in it (the user's own files) is never touched: InTheWay, one line."""
    tops = top_level(archive)
    if len(tops) == 1 and tops[0][1]:
        target, into, exclusive = archive.parent / tops[0][0], archive.parent, False
    else:
        stem = archive.name
        for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        target = archive.parent / (stem if stem != archive.name else stem + ".d")
        into, exclusive = target, True
    try:
        extract(archive, into, exclusive=exclusive)
    except InTheWay as err:
        shown = os.path.relpath(err.entry) if err.entry.is_relative_to(Path.cwd()) else str(err.entry)
        slash = "/" if err.entry.is_dir() and not err.entry.is_symlink() else ""
        raise InTheWay(tr("{entry} already exists ({why}): remove it, or use -O another/ to put {archive} and what "
                          "it holds there").format(entry=shown + slash, why=err.detail, archive=archive.name),
                       entry=err.entry, detail=err.detail) from None
    return target
