"""Drive files and folders, through gdown (it knows Drive's confirm pages, cookies and Docs exports;
its transfer resumes with Range/If-Range and feeds the one progress bar).

gdown's partial files live in a staging folder `.drive_get-ID/` next to the destination, so running
the same line again resumes; the final name appears only once the file is whole (and its sha256
matches, when one is given). gdown is pinned (pyproject, extra `data`): the staging layout and
error mapping lean on its 6.5.1 behaviour (`download(..., resume=True, progress=, hasher=)`,
`download_folder(skip_download=True)`).
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path, PurePosixPath

from ...errors import DataError, DownloadError, NetworkError, require
from ...locale import tr
from .._unreachable import connection_error, unreachable
from ..checksums import sha256_of
from ..progress import ByteProgress
from .destination import explicit_file, target_path
from .link import Source
from .result import Downloaded


def _gdown():
    return require("gdown", "data")


def get_drive_file(source: Source, dest, sha256, bar: ByteProgress, timeout: float, retries: int) -> Downloaded:
    explicit = explicit_file(dest)
    if explicit is not None and explicit.is_file() and (sha256 is None or sha256_of(explicit) == sha256):
        return Downloaded(path=explicit, source=source, files=[(explicit, explicit.stat().st_size)], reused=True)
    parent = explicit.parent if explicit is not None else target_path(dest, "x").parent
    staging = parent / f".drive_get-{source.id}"
    try:
        staged = _gdown_file(source.id, staging, bar, timeout, retries)
    except BaseException:
        _drop_if_empty(staging)
        raise
    if sha256 is not None and sha256_of(staged) != sha256:
        got = sha256_of(staged)
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(tr("Checksum mismatch for {name} from {url} (expected sha256 {expected}, got {got}); the "
                               "file was removed").format(name=staged.name, url=source.view_url, expected=sha256,
                                                          got=got))
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
        return DownloadError(tr("Google Drive would not hand out {id}: it must be shared as 'Anyone with the link', "
                                "and popular files hit a daily download quota; open {url} in a browser to "
                                "check").format(id=file_id, url=view))
    # After its retries gdown wraps the ConnectionError in its own DownloadError: look at the cause.
    if (cause := connection_error(err)) is not None:
        if received:
            return NetworkError(_broke_off(file_id, cause))
        return NetworkError(unreachable("Google Drive", cause, "https://drive.google.com"))
    if isinstance(err, requests.HTTPError) and err.response is not None:
        code = err.response.status_code
        if code == 404:
            return DownloadError(tr("Google Drive has no file {id} (HTTP 404): check the link").format(id=file_id))
        if code in (403, 429):
            return DownloadError(tr("Google Drive refused {id} (HTTP {code}): the file is private or its download "
                                    "quota is used up for today; open {url} in a browser to check").format(
                id=file_id, code=code, url=view))
        return NetworkError(tr("Google Drive answered HTTP {code} for {id}; try again later").format(
            code=code, id=file_id))
    if isinstance(err, exceptions.DownloadError):
        return NetworkError(_broke_off(file_id, err))
    return err


def _broke_off(file_id: str, err: BaseException) -> str:
    return tr("Download of {id} broke off ({why}); run the same line again to resume").format(
        id=file_id, why=_first_line(err))


def get_drive_folder(source: Source, dest, bar: ByteProgress, timeout: float, retries: int) -> Downloaded:
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
            raise DownloadError(tr("Google Drive would not list folder {id}: it must be shared as 'Anyone with the "
                                   "link'; open {url} in a browser to check").format(id=source.id,
                                                                                      url=source.view_url)) from err
        raise _drive_error(err, source.id) from err
    if not listing:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(tr("Drive folder {id} has no files gdown can see: check it is shared as 'Anyone with the "
                               "link' ({url})").format(id=source.id, url=source.view_url))
    name = Path(listing[0].local_path).relative_to(staging).parts[0]
    final_root = parent / name if into_named else base
    files = []
    for item in listing:
        relative = PurePosixPath(*Path(item.local_path).relative_to(staging / name).parts)
        if ".." in relative.parts or relative.is_absolute():
            raise DataError(tr("Refusing Drive folder entry {entry!r}: it points outside the target folder").format(
                entry=str(relative)))
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


def _drop_if_empty(staging: Path) -> None:
    """Remove a staging folder that holds no byte worth resuming from."""
    if staging.is_dir() and not any(p.is_file() and p.stat().st_size for p in staging.rglob("*")):
        shutil.rmtree(staging, ignore_errors=True)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
