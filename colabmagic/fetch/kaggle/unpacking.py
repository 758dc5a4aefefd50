"""Kaggle's downloads unpacked into kagglehub's cache, whole or not at all: a dataset's or competition's
archive as a folder renamed into place over an older one, or the one file Kaggle served zipped.
Extraction itself is fetch/archives.py's (nothing may land outside the staging folder)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ... import units
from ...errors import DataError, DownloadError
from ...files import fsync_folder
from ...locale import tr
from ..archives import SPACE_MARGIN, extract, unpacked_size
from .failures import SPACE_HINT


def extract_replacing(archive: Path, final: Path) -> Path:
    """Safely unpack archive into a staging folder next to `final`, then rename it to `final`
    (replacing an older one): the folder appears complete or not at all."""
    need, folder = unpacked_size(archive), final.parent
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if need and need + SPACE_MARGIN > free:
        raise DownloadError(tr("Not enough disk space for unpacking {archive} ({size}): it needs {need} but {folder} "
                               "has {free} free; {hint} (nothing was written)").format(
            archive=archive.name, size=units.size(need), need=units.size(need), folder=folder, free=units.size(free),
            hint=tr(SPACE_HINT)))
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
            raise DataError(tr("{archive} does not hold {member}: run again with --no-unzip to keep the zip").format(
                archive=archive.name, member=member))
        os.replace(inner, final)
        fsync_folder(final.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
