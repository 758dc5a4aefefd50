"""Where a %drive_get download lands: `-O` as a file name or a folder, and file names from URLs
made safe (no separators, short enough for the .part and staging suffixes)."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path, PurePosixPath


def target_path(dest, name: str) -> Path:
    if dest is None:
        return Path.cwd() / name
    path = Path(os.path.abspath(Path(dest).expanduser()))
    if str(dest).endswith(("/", os.sep)) or path.is_dir():
        return path / name
    return path


def explicit_file(dest) -> Path | None:
    """dest when it names a file (not a folder to put the file in), else None."""
    if dest is None:
        return None
    path = Path(os.path.abspath(Path(dest).expanduser()))
    return None if str(dest).endswith(("/", os.sep)) or path.is_dir() else path


MAX_NAME_BYTES = 200  # a file name, with room for the .part and staging suffixes under the 255-byte limit


def safe_name(name: str) -> str:
    name = name.replace("\x00", "").replace("/", "_").replace("\\", "_").strip()
    if len(os.fsencode(name)) > MAX_NAME_BYTES:  # a URL's 300-character name: ENAMETOOLONG otherwise
        suffix = PurePosixPath(name).suffix[:16]
        room = MAX_NAME_BYTES - len(os.fsencode(suffix))
        name = os.fsencode(name[: len(name) - len(suffix)])[:room].decode(errors="ignore") + suffix
    return "" if name in ("", ".", "..") else name




def url_name(url: str | None) -> str:
    name = urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(url or "").path).name)
    return safe_name(name) or "download"
