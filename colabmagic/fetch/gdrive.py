"""Google Drive downloads (public files and folders, through gdown) and plain http(s) URLs.

`parse(text)` turns whatever people paste into a `Source`: a Drive file or folder ID from any link
form (`/file/d/ID/view?usp=sharing`, `open?id=`, `uc?id=`, `drive/folders/ID`, docs links, a bare ID)
or a plain http(s) URL. `download(text, dest)` fetches it and returns a `Downloaded` result whose
`str()` is the local path.

- Drive files go through gdown (it knows Drive's confirm pages and Docs exports). Its partial files
  live in a staging folder `.drive_get-ID/` next to the destination, so running the same line again
  resumes with Range/If-Range; the final name appears only once the file is whole (and its sha256
  matches, when one is given).
- Plain URLs go through the one downloader (download.py: Range/If-Range resume, checksum, a fresh
  temporary file renamed when whole).
- `unzip` extracts the archive safely (`archives.extract`: nothing may land outside the target, and
  a folder in the way that holds anything the archive does not is left alone: one clear line).

gdown is pinned (pyproject, extra `data`): the staging layout and error mapping lean on its
6.5.1 behaviour (`download(..., resume=True, progress=, hasher=)`, `download_folder(skip_download=True)`).
"""

from __future__ import annotations

import errno
import html
import importlib
import os
import re
import shutil
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import units
from ..errors import ConfigError, DataError, DownloadError, NetworkError, require
from .archives import InTheWay, extract, top_level
from .checksums import sha256_of
from .download import download as download_url
from .progress import ByteProgress
from ._unreachable import connection_error, unreachable

DRIVE_HOSTS = {"drive.google.com", "docs.google.com", "drive.usercontent.google.com"}
ID = r"[-\w]{25,}"  # Drive IDs are 25+ characters of letters, digits, - and _
_FILE_PATHS = [
    rf"/file(?:/u/\d+)?/d/({ID})",                                        # /file/d/ID/view?usp=sharing
    rf"/(?:document|spreadsheets|presentation|drawings|forms)(?:/u/\d+)?/d/({ID})",  # docs links
]
_FOLDER_PATHS = [rf"/drive(?:/u/\d+)?/(?:mobile/)?folders/({ID})"]       # /drive/folders/ID, /drive/u/0/folders/ID


@dataclass(frozen=True)
class Source:
    """What a pasted link names: kind "file" or "folder" with a Drive `id`, or kind "url"."""

    kind: str
    id: str | None = None
    url: str | None = None

    @property
    def view_url(self) -> str:
        if self.kind == "folder":
            return f"https://drive.google.com/drive/folders/{self.id}"
        if self.kind == "file":
            return f"https://drive.google.com/file/d/{self.id}/view"
        return self.url or ""


def parse(text: str, *, folder: bool = False) -> Source:
    """A Drive link, a bare Drive ID or an http(s) URL -> Source. `folder` marks a bare ID or an
    `open?id=` link (which cannot tell files from folders) as a folder."""
    text = text.strip().strip("'\"")
    if re.fullmatch(ID, text):
        return Source("folder" if folder else "file", id=text)
    url = text
    if re.match(r"(?:drive|docs)\.google\.com/", url) or url.startswith("drive.usercontent.google.com/"):
        url = "https://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{text!r} is not a Google Drive link, a Drive file ID or an http(s) URL")
    if parts.hostname not in DRIVE_HOSTS:
        if folder:
            raise ConfigError("--folder works with Google Drive folders only, not with plain URLs")
        return Source("url", url=url)
    for pattern in _FOLDER_PATHS:
        if m := re.match(pattern, parts.path):
            return Source("folder", id=m.group(1))
    for pattern in _FILE_PATHS:
        if m := re.match(pattern, parts.path):
            return Source("folder" if folder else "file", id=m.group(1))
    ids = urllib.parse.parse_qs(parts.query).get("id", [])
    if len(ids) == 1 and re.fullmatch(ID, ids[0]):  # open?id=, uc?id=, usercontent download?id=
        return Source("folder" if folder else "file", id=ids[0])
    raise ConfigError(f"Cannot find a file or folder ID in {text!r}: paste the link from Drive's "
                      "Share → Copy link, or just the ID")


@dataclass
class Downloaded:
    """What %drive_get fetched. `str(result)` (and `os.fspath`) is the local path, so
    `%train cnn {path}/train.csv` works with `-v path`."""

    path: Path                      # the file, the folder, or (unzip) the extracted folder
    source: Source
    files: list[tuple[Path, int]] = field(default_factory=list)  # (path, size in bytes) that arrived
    seconds: float = 0.0
    archive: Path | None = None      # the downloaded archive, when it was extracted
    reused: bool = False             # the file was already there (and matched the checksum)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def summary(self) -> str:
        what = {"file": "Drive file", "folder": "Drive folder", "url": "URL"}[self.source.kind]
        if self.reused:
            head = f"{self.path} is already here ({units.size(self.bytes)}); nothing downloaded"
        else:
            rate = f", {units.rate(self.bytes / self.seconds)}" if self.seconds > 0 else ""
            head = (f"{what} → {self.path} ({len(self.files)} file{'s' if len(self.files) != 1 else ''}, "
                    f"{units.size(self.bytes)} in {self.seconds:.1f} s{rate})")
        lines = [head]
        if self.archive is not None:
            lines.append(f"extracted {self.archive.name} into {self.path}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(self.summary())

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(str(path))}</code></td><td style='text-align:right'>"
                       f"{units.size(size)}</td></tr>" for path, size in self.files[:20])
        more = f"<tr><td colspan=2>… {len(self.files) - 20} more</td></tr>" if len(self.files) > 20 else ""
        return (f"<div><b>{html.escape(self.summary().splitlines()[0])}</b>"
                + (f"<br>extracted {html.escape(self.archive.name)}" if self.archive else "")
                + (f"<table>{rows}{more}</table>" if rows else "") + "</div>")


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
            raise ConfigError(f"--sha256 needs 64 hex digits, got {sha256!r}")
        if source.kind == "folder":
            raise ConfigError("--sha256 checks one file: it does not apply to a folder")
    started = time.perf_counter()
    bar = ByteProgress(source.id or _url_name(source.url), enabled=progress)
    try:
        with bar:
            if source.kind == "url":
                result = _get_url(source, dest, sha256, bar, timeout)
            elif source.kind == "file":
                result = _get_drive_file(source, dest, sha256, bar, timeout, retries)
            else:
                result = _get_drive_folder(source, dest, bar, timeout, retries)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise DownloadError(f"No space left on the disk while downloading {source.view_url}: free some "
                                "space and run the same line again to resume") from err
        raise
    result.seconds = time.perf_counter() - started
    if unzip:
        if result.path.is_dir():
            raise ConfigError("--unzip needs a single archive, not a folder")
        result.archive = result.path
        result.path = _unpack(result.path)
    return result


# --- plain URLs -------------------------------------------------------------------------------

def _get_url(source: Source, dest, sha256, bar: ByteProgress, timeout: float) -> Downloaded:
    target = _target(dest, _url_name(source.url))
    reused = target.is_file() and not target.with_name(target.name + ".part").exists()
    path = download_url(source.url, target, sha256=sha256, progress=bar, timeout=timeout)
    reused = reused and bar.bytes == 0
    return Downloaded(path=path, source=source, files=[(path, path.stat().st_size)], reused=reused)


def _url_name(url: str | None) -> str:
    name = urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(url or "").path).name)
    return _safe_name(name) or "download"


# --- Drive files ------------------------------------------------------------------------------

def _gdown():
    return require("gdown", "data")


def _get_drive_file(source: Source, dest, sha256, bar: ByteProgress, timeout: float, retries: int) -> Downloaded:
    explicit = _explicit_file(dest)
    if explicit is not None and explicit.is_file() and (sha256 is None or sha256_of(explicit) == sha256):
        return Downloaded(path=explicit, source=source, files=[(explicit, explicit.stat().st_size)], reused=True)
    parent = explicit.parent if explicit is not None else _target(dest, "x").parent
    staging = parent / f".drive_get-{source.id}"
    try:
        staged = _gdown_file(source.id, staging, bar, timeout, retries)
    except BaseException:
        _drop_if_empty(staging)
        raise
    if sha256 is not None and sha256_of(staged) != sha256:
        got = sha256_of(staged)
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"Checksum mismatch for {staged.name} from {source.view_url} "
                            f"(expected sha256 {sha256}, got {got}); the file was removed")
    final = explicit if explicit is not None else parent / staged.name
    os.replace(staged, final)
    shutil.rmtree(staging, ignore_errors=True)
    return Downloaded(path=final, source=source, files=[(final, final.stat().st_size)])


def _gdown_file(file_id: str, folder: Path, bar: ByteProgress, timeout: float, retries: int,
                output: Path | None = None) -> Path:
    """gdown one Drive file into `folder` (its own name) or to `output`; partials stay for a resume."""
    gdown = _gdown()
    folder.mkdir(parents=True, exist_ok=True)
    cookies = Path(importlib.import_module("gdown.download").DEFAULT_COOKIES_FILE)
    before = bar.bytes  # more after a failure: bytes arrived, so the connection broke off (resumable)
    for attempt in (1, 2):
        try:
            out = gdown.download(id=file_id, output=str(output) if output else str(folder) + os.sep, quiet=True,
                                 resume=True, progress=bar, timeout=timeout, retries=retries,
                                 # the user's exported browser cookies help with Drive's quotas; never create them
                                 use_cookies=cookies.is_file(), cookies_file=str(cookies))
            return Path(out)
        except Exception as err:  # noqa: BLE001 -- mapped to one line below, or re-raised as it is
            if attempt == 1 and "did not honor the requested byte range" in str(err):
                # The file changed on Drive since the partial download (If-Range did not match):
                # the old bytes cannot be continued, so start over once.
                for part in folder.glob("*.part"):
                    part.unlink()
                continue
            raise _drive_error(err, file_id, received=bar.bytes > before) from err
    raise AssertionError("unreachable")


def _drive_error(err: Exception, file_id: str, *, received: bool = False) -> Exception:
    """One line for what gdown raised. `received`: bytes of the file arrived in this call."""
    import requests
    from gdown import exceptions

    view = f"https://drive.google.com/file/d/{file_id}/view"
    if isinstance(err, exceptions.FileURLRetrievalError):
        return DownloadError(f"Google Drive would not hand out {file_id}: it must be shared as 'Anyone with the "
                             f"link', and popular files hit a daily download quota; open {view} in a browser to check")
    # After its retries gdown wraps the ConnectionError in its own DownloadError: look at the cause.
    if (cause := connection_error(err)) is not None:
        if received:
            return NetworkError(f"Download of {file_id} broke off ({_first_line(cause)}); run the same line "
                                "again to resume")
        return NetworkError(unreachable("Google Drive", cause, "https://drive.google.com"))
    if isinstance(err, requests.HTTPError) and err.response is not None:
        code = err.response.status_code
        if code == 404:
            return DownloadError(f"Google Drive has no file {file_id} (HTTP 404): check the link")
        if code in (403, 429):
            return DownloadError(f"Google Drive refused {file_id} (HTTP {code}): the file is private or its "
                                 f"download quota is used up for today; open {view} in a browser to check")
        return NetworkError(f"Google Drive answered HTTP {code} for {file_id}; try again later")
    if isinstance(err, exceptions.DownloadError):
        return NetworkError(f"Download of {file_id} broke off ({_first_line(err)}); run the same line again "
                            "to resume")
    return err


# --- Drive folders ----------------------------------------------------------------------------

def _get_drive_folder(source: Source, dest, bar: ByteProgress, timeout: float, retries: int) -> Downloaded:
    gdown = _gdown()
    base = Path(os.path.abspath(Path(dest).expanduser())) if dest is not None else Path.cwd()
    into_named = dest is None or str(dest).endswith(("/", os.sep)) or base.is_dir()
    parent = base if into_named else base.parent
    staging = parent / f".drive_get-{source.id}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        listing = gdown.download_folder(id=source.id, output=str(staging) + os.sep, skip_download=True,
                                        quiet=True, timeout=timeout, use_cookies=False)
    except Exception as err:  # noqa: BLE001
        shutil.rmtree(staging, ignore_errors=True)
        if type(err).__name__ == "DownloadError" and "folder" in str(err).lower() and connection_error(err) is None:
            raise DownloadError(f"Google Drive would not list folder {source.id}: it must be shared as 'Anyone "
                                f"with the link'; open {source.view_url} in a browser to check") from err
        raise _drive_error(err, source.id) from err
    if not listing:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"Drive folder {source.id} has no files gdown can see: check it is shared as 'Anyone "
                            f"with the link' ({source.view_url})")
    name = Path(listing[0].local_path).relative_to(staging).parts[0]
    final_root = parent / name if into_named else base
    files = []
    for item in listing:
        relative = PurePosixPath(*Path(item.local_path).relative_to(staging / name).parts)
        if ".." in relative.parts or relative.is_absolute():
            raise DataError(f"Refusing Drive folder entry {str(relative)!r}: it points outside the target folder")
        final = final_root / relative
        if final.is_file():  # arrived in an earlier run
            files.append((final, final.stat().st_size))
            continue
        staged = staging / name / relative
        staged.parent.mkdir(parents=True, exist_ok=True)
        bar.start_file(str(relative))
        try:
            _gdown_file(item.id, staged.parent, bar, timeout, retries, output=staged)
        except BaseException:
            _drop_if_empty(staging)
            raise
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        files.append((final, final.stat().st_size))
    final_root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    return Downloaded(path=final_root, source=source, files=files)


# --- shared -----------------------------------------------------------------------------------

def _target(dest, name: str) -> Path:
    if dest is None:
        return Path.cwd() / name
    path = Path(os.path.abspath(Path(dest).expanduser()))
    if str(dest).endswith(("/", os.sep)) or path.is_dir():
        return path / name
    return path


def _explicit_file(dest) -> Path | None:
    """dest when it names a file (not a folder to put the file in), else None."""
    if dest is None:
        return None
    path = Path(os.path.abspath(Path(dest).expanduser()))
    return None if str(dest).endswith(("/", os.sep)) or path.is_dir() else path


def _drop_if_empty(staging: Path) -> None:
    """Remove a staging folder that holds no byte worth resuming from."""
    if staging.is_dir() and not any(p.is_file() and p.stat().st_size for p in staging.rglob("*")):
        shutil.rmtree(staging, ignore_errors=True)


MAX_NAME_BYTES = 200  # a file name, with room for the .part and staging suffixes under the 255-byte limit


def _safe_name(name: str) -> str:
    name = name.replace("\x00", "").replace("/", "_").replace("\\", "_").strip()
    if len(os.fsencode(name)) > MAX_NAME_BYTES:  # a URL's 300-character name: ENAMETOOLONG otherwise
        suffix = PurePosixPath(name).suffix[:16]
        room = MAX_NAME_BYTES - len(os.fsencode(suffix))
        name = os.fsencode(name[: len(name) - len(suffix)])[:room].decode(errors="ignore") + suffix
    return "" if name in ("", ".", "..") else name


def _unpack(archive: Path) -> Path:
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
        raise InTheWay(f"{shown}{slash} already exists ({err.detail}): remove it, or use -O another/ to put "
                       f"{archive.name} and what it holds there", entry=err.entry, detail=err.detail) from None
    return target


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


