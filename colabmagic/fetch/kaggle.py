"""Kaggle datasets and competition files: `kaggle_get("owner/dataset")` -> the local files.

kagglehub (Kaggle's official client) makes the API calls and reads the credentials; colabmagic adds
what it lacks:
- references as people paste them (`owner/slug`, `owner/slug/versions/N`, kaggle.com URLs);
- credentials from colabmagic's secrets store too, put into the environment for the call only;
- one-line errors that say what to do (401, 403 with the rules URL, 404 with a search URL,
  network unreachable with the proxy variables, disk full);
- the download itself: a tqdm bar, `.part` + rename (the final name appears whole or not at all),
  resume with `Range` that checks the answer really is a 206 for that offset (a server that
  ignores Range gets a fresh download, never a spliced file), retries, the x-goog-hash md5 check;
- safe extraction (`_http.extract`: no member may land outside the target) into a staging folder
  renamed into place, instead of kagglehub's plain `extractall`;
- `path=`: the files hard-linked (or copied, across file systems) into a folder of the user's
  choice, refusing symlinks and anything that would land outside it.

Files land in kagglehub's own cache layout (KAGGLEHUB_CACHE, default ~/.cache/kagglehub) with its
completion markers, so `kagglehub.dataset_download()` finds what `%kaggle_get` fetched and back.
Nothing here prints or stores a credential.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import html
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote_plus, urlsplit

from .. import units
from ..files import fsync_folder
from ..errors import ConfigError, CredentialsError, DataError, DownloadError, require
from ._http import NetworkError, extract
from ._unreachable import unreachable

WEB = "https://www.kaggle.com"          # what the user opens (the API host is not a web page)
TOKEN_PAGE = f"{WEB}/settings/api"
CHUNK = 1 << 20                          # bytes per read and per write
RETRIES = 3                              # reconnects (with Range) after a transfer breaks off
CONNECT_TIMEOUT, READ_TIMEOUT = 10, 60   # seconds: to connect, and between two reads
FLUSH_EVERY = 32 << 20                   # bytes written between two background flushes to disk
SPACE_MARGIN = 1 << 20                   # bytes kept free beyond what a download or extraction needs

Warn = Callable[[str], None]


# --- references -------------------------------------------------------------------------------

@dataclass(frozen=True)
class KaggleRef:
    """What to fetch: a dataset (owner, slug, optional version) or a competition (slug)."""

    kind: str                    # "dataset" or "competition"
    slug: str
    owner: str = ""              # datasets only
    version: int | None = None   # datasets only; None = the current version
    file: str | None = None      # one file (from a URL's ?select=NAME)

    @property
    def url(self) -> str:
        if self.kind == "competition":
            return f"{WEB}/competitions/{self.slug}"
        return f"{WEB}/datasets/{self.owner}/{self.slug}" + (f"/versions/{self.version}" if self.version else "")

    def __str__(self) -> str:
        if self.kind == "competition":
            return f"competition {self.slug}"
        return f"{self.owner}/{self.slug}" + (f"/versions/{self.version}" if self.version else "")


_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_NOT_DATASETS = {"code", "models", "discussions", "learn", "kernels", "notebooks", "settings", "search"}


def parse_ref(text: str, *, competition: bool = False) -> KaggleRef:
    """`owner/slug`, `owner/slug/versions/N`, a competition slug (competition=True), or a kaggle.com
    URL: /datasets/OWNER/SLUG[/versions/N][?select=FILE], /competitions/SLUG, /c/SLUG, /OWNER/SLUG."""
    text = (text or "").strip()
    if not text:
        raise ConfigError("Name a dataset (owner/dataset) or a competition (-c NAME)")
    file = None
    if "://" in text or text.startswith(("www.kaggle.com", "kaggle.com")):
        parts = urlsplit(text if "://" in text else "https://" + text)
        host = (parts.hostname or "").lower()
        if host not in ("kaggle.com", "www.kaggle.com"):
            raise ConfigError(f"{text} is not a kaggle.com address")
        file = (parse_qs(parts.query).get("select") or [None])[0]
        words = [w for w in parts.path.split("/") if w]
        if words[:1] in (["competitions"], ["c"]) and len(words) >= 2:
            return _competition(words[1], text)
        if words[:1] == ["datasets"]:
            words = words[1:]
        elif words[:1] and words[0] in _NOT_DATASETS:
            raise ConfigError(f"{text}: %kaggle_get fetches datasets and competition files, not {words[0]}")
        # /OWNER/SLUG[/versions/N][/data]: everything after the slug except a version is a page tab
        version = None
        if len(words) >= 4 and words[2] == "versions" and words[3].isdigit():
            version = int(words[3])
        if len(words) < 2:
            raise ConfigError(f"{text} names no dataset: expected {WEB}/datasets/OWNER/DATASET")
        return _dataset(words[0], words[1], version, file, text)
    if competition:
        return _competition(text, text)
    words = text.split("/")
    if len(words) == 2:
        return _dataset(words[0], words[1], None, None, text)
    if len(words) == 4 and words[2] == "versions" and words[3].isdigit():
        return _dataset(words[0], words[1], int(words[3]), None, text)
    hint = " (a competition? use -c NAME)" if len(words) == 1 else ""
    raise ConfigError(f"{text!r} is not a Kaggle dataset: expected owner/dataset or owner/dataset/versions/N{hint}")


def _dataset(owner: str, slug: str, version: int | None, file: str | None, text: str) -> KaggleRef:
    if not (_SLUG.match(owner) and _SLUG.match(slug)):
        raise ConfigError(f"{text!r} is not a Kaggle dataset: expected owner/dataset")
    if version is not None and version < 1:
        raise ConfigError(f"{text!r}: dataset versions start at 1")
    return KaggleRef("dataset", slug, owner, version, file)


def _competition(slug: str, text: str) -> KaggleRef:
    if not _SLUG.match(slug):
        raise ConfigError(f"{text!r} is not a Kaggle competition name")
    return KaggleRef("competition", slug)


# --- credentials ------------------------------------------------------------------------------

@dataclass
class Credentials:
    """Where the Kaggle credentials come from (a description, never a value)."""

    source: str                                            # "" when none were found
    env: dict[str, str] = field(default_factory=dict, repr=False)  # set for the call (secrets store)

    def __bool__(self) -> bool:
        return bool(self.source)

    def __repr__(self) -> str:  # the env values are secrets
        return f"Credentials(source={self.source!r})"


def missing_credentials_message() -> str:
    return (f"Kaggle credentials not found. 1) Open {TOKEN_PAGE} and click 'Generate New Token'. "
            "2) Store the token: %secrets set KAGGLE_API_TOKEN (hidden prompt), or set the KAGGLE_API_TOKEN "
            "environment variable; a legacy kaggle.json goes to ~/.kaggle/kaggle.json, then "
            "chmod 600 ~/.kaggle/kaggle.json. 3) Run this line again.")


def find_credentials(warn: Warn | None = None) -> Credentials:
    """kagglehub's order (kagglehub.login(), KAGGLE_API_TOKEN, ~/.kaggle/access_token,
    KAGGLE_USERNAME+KAGGLE_KEY, kaggle.json), then colabmagic's secrets store. Warns (with the chmod
    line) when a credentials file can be read by other users."""
    from .. import secrets

    warn = warn or _print_warning
    config = sys.modules.get("kagglehub.config")
    if config is not None and getattr(config, "_kaggle_credentials", None):
        return Credentials("kagglehub.login()")
    if os.environ.get("KAGGLE_API_TOKEN"):
        token = os.environ["KAGGLE_API_TOKEN"]
        if os.path.isfile(token):
            _check_private(Path(token), warn)
            return Credentials(f"the file named by KAGGLE_API_TOKEN ({token})")
        return Credentials("the KAGGLE_API_TOKEN environment variable")
    for name in ("access_token", "access_token.txt"):
        file = Path.home() / ".kaggle" / name
        if file.is_file() and file.read_text().strip():
            _check_private(file, warn)
            return Credentials(str(file))
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return Credentials("the KAGGLE_USERNAME and KAGGLE_KEY environment variables")
    kaggle_json = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle") / "kaggle.json"
    if kaggle_json.is_file():
        _check_private(kaggle_json, warn)
        return Credentials(str(kaggle_json))
    token = secrets.get("KAGGLE_API_TOKEN")
    if token:
        return Credentials(f"colabmagic secrets ({secrets.path()})", {"KAGGLE_API_TOKEN": token})
    username, key = secrets.get("KAGGLE_USERNAME"), secrets.get("KAGGLE_KEY")
    if username and key:
        return Credentials(f"colabmagic secrets ({secrets.path()})", {"KAGGLE_USERNAME": username, "KAGGLE_KEY": key})
    return Credentials("")


def _check_private(file: Path, warn: Warn) -> None:
    if os.name == "posix" and file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"Warning: {file} can be read by other users; run  chmod 600 {file}")


def _print_warning(message: str) -> None:
    print(message, file=sys.stderr)


@contextlib.contextmanager
def _in_environment(values: dict[str, str]):
    """Set these variables for the call only, then restore what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


# --- the result -------------------------------------------------------------------------------

@dataclass
class KaggleFiles:
    """What `%kaggle_get` fetched. str(result) is the local path: `%train cnn {path}/train.csv`."""

    ref: str                               # "owner/slug/versions/N" or "competition NAME"
    url: str                               # its kaggle.com page
    path: Path                             # the local folder (or file) to use
    cache_path: Path                       # where it lives in kagglehub's cache
    version: int | None = None
    files: list[tuple[str, int]] = field(default_factory=list)  # (path relative to `path`, bytes)
    downloaded_bytes: int = 0              # 0 when everything came from the cache
    seconds: float = 0.0
    cached: bool = False
    placed: str = ""                       # "linked", "copied" or "" (no --path)
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    def summary(self) -> str:
        what = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}, {units.size(self.total_bytes)}"
        if self.cached:
            how = "from the cache (--force downloads again)"
        else:
            speed = f", {units.rate(self.downloaded_bytes / self.seconds)}" if self.seconds > 0 else ""
            how = f"downloaded {units.size(self.downloaded_bytes)} in {self.seconds:.1f} s{speed}"
        where = f"; {self.placed} from {self.cache_path}" if self.placed else ""
        return f"{self.ref}: {what}, {how}{where}"

    def tree(self, limit: int = 12) -> list[str]:
        return tree_lines(self.path, self.files, limit)

    def _text(self) -> str:
        return "\n".join([self.summary(), *self.tree()])

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self._text())

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td><td style='text-align:right'>"
                       f"{html.escape(size)}</td></tr>" for name, size in _tree_rows(self.path, self.files, 12))
        return (f"<div><b>{html.escape(self.ref)}</b> &rarr; <code>{html.escape(str(self.path))}</code><br>"
                f"<small>{html.escape(self.summary())}</small><table>{rows}</table></div>")


def _tree_rows(root: Path, files: list[tuple[str, int]], limit: int) -> list[tuple[str, str]]:
    """(label, size) rows: top-level files, and one row per top-level folder with its file count."""
    top: dict[str, list[int]] = {}
    for name, size in files:
        head, sep, _ = name.partition("/")
        top.setdefault(head + ("/" if sep else ""), []).append(size)
    rows = []
    for label in sorted(top, key=lambda n: (not n.endswith("/"), n)):
        sizes = top[label]
        note = f"{len(sizes)} files, " if label.endswith("/") else ""
        rows.append((label, note + units.size(sum(sizes))))
    if len(rows) > limit:
        rest = rows[limit - 1:]
        rows = rows[:limit - 1] + [(f"... {len(rest)} more", "")]
    return rows


def tree_lines(root: Path, files: list[tuple[str, int]], limit: int = 12) -> list[str]:
    if root.is_file() or (len(files) == 1 and files[0][0] == "."):
        return [str(root)]
    rows = _tree_rows(root, files, limit)
    width = max([len(label) for label, _ in rows] + [1])
    lines = [f"{root}/"]
    for i, (label, size) in enumerate(rows):
        branch = "└── " if i == len(rows) - 1 else "├── "
        lines.append(f"{branch}{label:<{width}}  {size:>10}".rstrip())
    return lines


# --- the entry point --------------------------------------------------------------------------

def kaggle_get(ref: str | KaggleRef, *, competition: bool = False, path: str | os.PathLike | None = None,
               file: str | None = None, force: bool = False, unzip: bool = True, progress: bool = True,
               retries: int = RETRIES, warn: Warn | None = None) -> KaggleFiles:
    """Fetch a Kaggle dataset or competition's files and return where they are.

    ref: see parse_ref; competition=True reads a bare name as a competition. file: one file of it.
    path: also hard-link (or copy) the files into this folder. force: download again even when
    cached, and replace differing files under `path`. unzip=False keeps the downloaded archive.
    """
    ref = ref if isinstance(ref, KaggleRef) else parse_ref(ref, competition=competition)
    file = file or ref.file
    if file is not None:
        file = _check_member_name(file)
    require("kagglehub", "data")
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        (warn or _print_warning)(message)

    credentials = find_credentials(note)
    if ref.kind == "competition" and not credentials:
        raise CredentialsError(missing_credentials_message())
    started = time.perf_counter()
    fetch = _Fetch(ref, file, force=force, unzip=unzip, progress=progress, retries=retries)
    with _in_environment(credentials.env), _explained(ref, credentials, file):
        fetch.run()
    resolved = KaggleRef(ref.kind, ref.slug, ref.owner, fetch.version, file)
    result = KaggleFiles(str(resolved), resolved.url, fetch.local, fetch.local, fetch.version,
                         downloaded_bytes=fetch.downloaded, cached=fetch.cached, warnings=warnings)
    if path is not None:
        result.path, result.placed = place(fetch.local, Path(path).expanduser().absolute(), force=force)
    result.files = list_files(result.path)
    result.seconds = time.perf_counter() - started
    return result


def _check_member_name(name: str) -> str:
    clean = name.replace("\\", "/").strip()
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if not parts or clean.startswith("/") or ".." in parts:
        raise ConfigError(f"--file {name!r}: give a file's path inside the dataset, e.g. train.csv")
    return "/".join(parts)


@contextlib.contextmanager
def _explained(ref: KaggleRef, credentials: Credentials, file: str | None):
    """Turn what kagglehub, kagglesdk and requests raise into one line that says what to do."""
    import requests

    try:
        yield
    except requests.HTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        raise _http_error(ref, credentials, file, status) from None
    except (requests.ConnectionError, requests.Timeout) as err:
        raise NetworkError(unreachable("Kaggle", err, "https://api.kaggle.com")) from None
    except ValueError as err:
        if "credentials file" in str(err).lower():  # kagglehub: a kaggle.json without username/key
            raise CredentialsError(f"{err}: it must hold {{\"username\": ..., \"key\": ...}}; or create a new "
                                   f"token at {TOKEN_PAGE} and run %secrets set KAGGLE_API_TOKEN") from None
        raise
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(f"Disk full while fetching {ref} ({err.strerror}): free some space, or set "
                                "KAGGLEHUB_CACHE to a folder on a bigger disk; nothing half-written was left") from None
        raise


def _http_error(ref: KaggleRef, credentials: Credentials, file: str | None, status: int) -> Exception:
    what = f"{ref}" + (f" file {file}" if file else "")
    if status in (401, 403) and not credentials:
        return CredentialsError(f"Kaggle needs an account to download {what} (HTTP {status}). "
                                + missing_credentials_message())
    if status == 401:
        return CredentialsError(f"Kaggle rejected the credentials from {credentials.source} (401 Unauthorized): "
                                f"the token may be expired or revoked; create a new one at {TOKEN_PAGE} and store "
                                "it with %secrets set KAGGLE_API_TOKEN")
    if status == 403 and ref.kind == "competition":
        return CredentialsError(f"Kaggle refused the files of {what} (403 Forbidden): accept the competition's "
                                f"rules at {ref.url}/rules (signed in as the account of your token), then run again")
    if status == 403:
        return CredentialsError(f"Kaggle refused {what} (403 Forbidden): it is private or asks for consent; open "
                                f"{ref.url} signed in as the account of your token ({credentials.source})")
    if status == 404:
        if file:
            return DataError(f"{ref} has no file {file!r} (404): see the file list at {ref.url}/data")
        if ref.kind == "competition":
            return DataError(f"No Kaggle competition {ref.slug!r} (404): check the name, or search "
                             f"{WEB}/competitions?search={quote_plus(ref.slug)}")
        if ref.version:
            return DataError(f"No dataset {ref} on Kaggle (404): check the name and version at "
                             f"{WEB}/datasets/{ref.owner}/{ref.slug}/versions")
        return DataError(f"No dataset {ref} on Kaggle (404): check the name, or search "
                         f"{WEB}/datasets?search={quote_plus(ref.slug)}")
    if status == 429:
        return NetworkError(f"Kaggle is rate-limiting these requests (429) for {what}: wait a minute and run again")
    return NetworkError(f"Kaggle answered HTTP {status} for {what}: try again later (status: {WEB}/status)")


# --- fetching through kagglehub's client ------------------------------------------------------

class _Fetch:
    """One fetch: resolve the version, use the cache or download, extract; sets local/version/cached."""

    def __init__(self, ref: KaggleRef, file: str | None, *, force: bool, unzip: bool, progress: bool,
                 retries: int):
        self.ref, self.file, self.force, self.unzip = ref, file, force, unzip
        self.progress, self.retries = progress, retries
        self.local: Path = Path()
        self.version: int | None = ref.version
        self.cached = False
        self.downloaded = 0

    def run(self) -> None:
        from kagglehub.cache import Cache
        from kagglehub.clients import build_kaggle_client
        from kagglehub.handle import CompetitionHandle, DatasetHandle

        with build_kaggle_client() as api:
            if self.ref.kind == "dataset":
                if self.version is None:
                    self.version = self._current_version(api)
                handle = DatasetHandle(self.ref.owner, self.ref.slug, self.version)
            else:
                handle = CompetitionHandle(self.ref.slug)
            cache = Cache()
            final = Path(cache.get_path(handle, self.file))
            if not self.unzip:
                final = self._archive_name(Path(cache.get_archive_path(handle)), final)
                zipped = final.with_name(final.name + ".zip")
                if self.file and not final.exists() and zipped.exists():  # kept as Kaggle zipped it
                    final = zipped
            done = final.exists() and (not self.unzip or cache.load_from_cache(handle, self.file))
            if done and not self.force:
                self.local, self.cached = final, True
                return
            response = self._request(api)
            with response:
                self.local = self._receive(response, final)
            if self.unzip:
                cache.mark_as_complete(handle, self.file)

    def _current_version(self, api) -> int:
        from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

        request = ApiGetDatasetRequest()
        request.owner_slug, request.dataset_slug = self.ref.owner, self.ref.slug
        return api.datasets.dataset_api_client.get_dataset(request).current_version_number

    def _request(self, api):
        """The API call: kagglesdk follows Kaggle's 302 to the blob and returns the streaming response."""
        if self.ref.kind == "dataset":
            from kagglesdk.datasets.types.dataset_api_service import ApiDownloadDatasetRequest

            request = ApiDownloadDatasetRequest()
            request.owner_slug, request.dataset_slug = self.ref.owner, self.ref.slug
            request.dataset_version_number = self.version
            if self.file:
                request.file_name = self.file
            return api.datasets.dataset_api_client.download_dataset(request)
        from kagglesdk.competitions.types.competition_api_service import (
            ApiDownloadDataFileRequest, ApiDownloadDataFilesRequest)

        if self.file:
            request = ApiDownloadDataFileRequest()
            request.competition_name, request.file_name = self.ref.slug, self.file
            return api.competitions.competition_api_client.download_data_file(request)
        request = ApiDownloadDataFilesRequest()
        request.competition_name = self.ref.slug
        return api.competitions.competition_api_client.download_data_files(request)

    def _archive_name(self, archive: Path, final: Path) -> Path:
        """Where --no-unzip keeps the download: the bundle as SLUG[-vN].zip next to kagglehub's
        archive; one file under its own name (NAME.zip when Kaggle zipped it)."""
        if self.file:
            return final
        suffix = f"-v{self.version}" if self.version else ""
        return archive.parent / f"{self.ref.slug}{suffix}.zip"

    def _receive(self, response, final: Path) -> Path:
        served = Path(urlsplit(response.url).path).name
        zipped_file = bool(self.file) and served == Path(self.file).name + ".zip"
        if not self.unzip and zipped_file:
            final = final.with_name(final.name + ".zip")
        final.parent.mkdir(parents=True, exist_ok=True)
        download = final if (not self.unzip or (self.file and not zipped_file)) else \
            final.parent / f".{final.name}.download"
        self.downloaded = stream(response, download, label=self.file or self.ref.slug, progress=self.progress,
                                 retries=self.retries)
        if download == final:
            return final
        try:
            if zipped_file:
                _extract_one(download, final, Path(self.file).name)
            else:
                extract_into(download, final)
        finally:
            download.unlink(missing_ok=True)
        return final


# --- streaming a download ---------------------------------------------------------------------

def stream(response, dest: Path, *, label: str = "", progress: bool = True, retries: int = RETRIES) -> int:
    """Write the body of `response` (a streaming requests.Response) to dest, whole or not at all.

    Bytes go to `dest.part`; a `.part` left by an earlier run is continued with `Range` when the
    server offers byte ranges, and a transfer that breaks off is resumed up to `retries` times. A
    resumed answer is used only when it is a 206 starting at our offset; anything else starts
    over. The x-goog-hash md5 (when sent) is checked; on a mismatch nothing is kept. Returns the
    bytes received over the network.
    """
    import requests
    import urllib3

    part = dest.with_name(dest.name + ".part")
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    md5 = _goog_md5(response.headers)
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if encoded:  # lengths and ranges count encoded bytes, the file holds decoded ones
        total = None
    ranges = not encoded and response.headers.get("Accept-Ranges", "").lower() == "bytes"
    url = response.url
    offset = part.stat().st_size if part.is_file() else 0
    if offset and not (ranges and total and offset <= total):
        offset = 0
    _check_space(part.parent, (total or 0) - offset, f"{label} ({units.size(total or 0)})")
    received = 0
    bar = _bar(label, total, offset, progress)
    current = response
    if offset:
        response.close()  # the first answer starts at byte 0: ask for the rest instead
        current = None
    attempts = 0
    digest = _Digest()
    try:
        while True:
            try:
                if current is None:
                    current, offset = _resume(requests, url, offset, total)
                    bar.reset(total=total)
                    bar.update(offset)
                start = offset
                try:
                    _write(current, part, offset, bar, digest)
                finally:
                    offset = part.stat().st_size if part.is_file() else 0
                    received += max(0, offset - start)
                if total is not None and offset < total:
                    raise requests.exceptions.ChunkedEncodingError(f"ended after {offset} of {total} bytes")
                break
            except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError, requests.Timeout,
                    urllib3.exceptions.HTTPError) as err:
                if current is not None:
                    current.close()
                current = None
                attempts += 1
                if attempts > retries:
                    raise NetworkError(f"The download of {label} broke off after {units.size(offset)}"
                                       + (f" of {units.size(total)}" if total else "")
                                       + f" ({type(err).__name__}); run the same line again to resume") from None
                time.sleep(min(0.2 * 2 ** attempts, 5))
    except BaseException as err:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            part.unlink(missing_ok=True)  # a disk-full .part only takes the space the user needs back
        raise
    finally:
        bar.close()
        if current is not None and current is not response:
            current.close()
    if md5 is not None and digest.of(part) != md5:
        part.unlink(missing_ok=True)
        raise DownloadError(f"The download of {label} is damaged (its md5 does not match what the server "
                            "announced): nothing was kept; run again")
    os.replace(part, dest)
    fsync_folder(dest.parent)
    return received


def _resume(requests, url: str, offset: int, total: int | None):
    """GET the rest from `offset`; returns (response, offset it really starts at)."""
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    response = requests.get(url, headers=headers, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    if response.status_code == 416 and offset:  # already as long as the file: verified by the md5 below
        response.close()
        if total is not None and offset == total:
            return _Empty(), offset
        return _resume(requests, url, 0, total)
    response.raise_for_status()
    if offset and not (response.status_code == 206 and _range_start(response.headers) == offset):
        return response, 0  # the server ignored Range: this is the whole file, start over
    return response, offset


class _Empty:
    """A response with no more bytes (the .part was already complete)."""

    def iter_content(self, size):
        return iter(())

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class _Digest:
    """The md5 of a .part's first `covered` bytes, kept up to date as chunks are written (so the
    check after the transfer reads nothing back), recomputed from the file when they disagree."""

    def __init__(self):
        self.md5, self.covered = hashlib.md5(usedforsecurity=False), 0

    def start_at(self, part: Path, offset: int) -> None:
        if offset == self.covered:
            return
        self.md5, self.covered = hashlib.md5(usedforsecurity=False), 0
        if offset:
            with open(part, "rb") as f:
                while self.covered < offset and (block := f.read(min(CHUNK, offset - self.covered))):
                    self.update(block)

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.covered += len(chunk)

    def of(self, part: Path) -> str:
        self.start_at(part, part.stat().st_size)
        return base64.b64encode(self.md5.digest()).decode()


def _write(response, part: Path, offset: int, bar, digest: _Digest) -> None:
    digest.start_at(part, offset)
    with open(part, "r+b" if offset else "wb", buffering=0) as out:
        out.seek(offset)
        out.truncate()
        flusher = _Flusher(out.fileno())
        try:
            for chunk in _chunks(response):
                view = memoryview(chunk)
                while view:  # an unbuffered write may take part of it (then the next one says why)
                    view = view[out.write(view):]
                digest.update(chunk)
                bar.update(len(chunk))
                flusher.wrote(len(chunk))
        finally:
            flusher.join()
            os.fsync(out.fileno())


class _Flusher:
    """Writes the file's pages to disk in a background thread while the transfer goes on, every
    FLUSH_EVERY bytes, so the fsync before the rename has only the tail left to wait for
    (otherwise it would stall on the whole file at the end)."""

    def __init__(self, fd: int):
        self.fd, self.pending, self.thread = fd, 0, None

    def wrote(self, size: int) -> None:
        self.pending += size
        if self.pending >= FLUSH_EVERY and (self.thread is None or not self.thread.is_alive()):
            import threading

            self.pending = 0
            self.thread = threading.Thread(target=self._sync, daemon=True, name="colabmagic-fsync")
            self.thread.start()

    def _sync(self) -> None:
        with contextlib.suppress(OSError):  # the final fsync reports any error
            os.fdatasync(self.fd) if hasattr(os, "fdatasync") else os.fsync(self.fd)

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def _chunks(response):
    """The body as it arrives: read1 returns what the socket has (up to CHUNK) instead of waiting for
    a full CHUNK, so when the connection breaks every byte received is already written (and a resume
    asks for none of them again). urllib3 < 2 has no read1: whole chunks, as requests reads them."""
    read1 = getattr(getattr(response, "raw", None), "read1", None)
    if read1 is None:
        yield from response.iter_content(CHUNK)
        return
    while chunk := read1(CHUNK, decode_content=True):
        yield chunk


def _range_start(headers) -> int | None:
    unit, _, spec = headers.get("Content-Range", "").partition(" ")
    start = spec.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _goog_md5(headers) -> str | None:
    for item in headers.get("x-goog-hash", "").split(","):
        name, _, value = item.strip().partition("=")
        if name == "md5" and value:
            return value
    return None


def _bar(label: str, total: int | None, initial: int, enabled: bool):
    from ._progress import tqdm_class

    return tqdm_class()(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                disable=not enabled, leave=False, dynamic_ncols=True, miniters=1, mininterval=0.2)


def _check_space(folder: Path, need: int, what: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if need > 0 and need + SPACE_MARGIN > free:
        raise DownloadError(f"Not enough disk space for {what}: it needs {units.size(need)} but {folder} has "
                            f"{units.size(free)} free; free some space, or set KAGGLEHUB_CACHE to a folder on a "
                            "bigger disk (nothing was written)")


# --- extraction -------------------------------------------------------------------------------

def extract_into(archive: Path, final: Path) -> Path:
    """Safely unpack archive into a staging folder next to `final`, then rename it to `final`
    (replacing an older one): the folder appears complete or not at all."""
    _check_space(final.parent, _unpacked_size(archive), f"unpacking {archive.name}")
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
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


def _extract_one(archive: Path, final: Path, member: str) -> None:
    """A single file Kaggle served zipped (NAME.zip holding NAME): unpack it safely to `final`."""
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


def _unpacked_size(archive: Path) -> int:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                return sum(i.file_size for i in zf.infolist())
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                return sum(m.size for m in tar.getmembers())
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        pass
    return 0  # extract() says what is wrong with it


# --- placing the files under --path ------------------------------------------------------------

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
            raise DataError(f"Refusing to place {dest}: {probe} leads outside {folder}")
        if dest.is_symlink():
            if not force:
                raise DataError(f"{dest} is a symbolic link: remove it, or run again with --force to replace it")
        elif dest.exists():
            if dest.is_dir():
                raise DataError(f"{dest} is a folder where a file of the dataset goes: move it away")
            if _same(src, dest):
                continue
            if not force:
                raise DataError(f"{dest} already exists and differs from the downloaded file: run again with "
                                "--force to replace it")
        plan.append((src, dest))
    how = "linked"
    for src, dest in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            how = "copied"
            try:
                shutil.copy2(src, tmp)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        os.replace(tmp, dest)
    if not plan and pairs and not all(os.path.samefile(s, d) for s, d in pairs):
        how = "copied"
    return (folder / source.name if source.is_file() else folder), how


def _pairs(source: Path, folder: Path) -> list[tuple[Path, Path]]:
    if source.is_symlink():
        raise DataError(f"Refusing to place {source}: it is a symbolic link")
    if source.is_file():
        return [(source, folder / source.name)]
    pairs = []
    for current, dirs, names in os.walk(source):
        for name in dirs + names:
            full = Path(current, name)
            if full.is_symlink():
                raise DataError(f"Refusing to place {full}: it is a symbolic link")
        for name in sorted(names):
            full = Path(current, name)
            if not full.is_file():
                raise DataError(f"Refusing to place {full}: it is not a plain file")
            pairs.append((full, folder / full.relative_to(source)))
    return pairs


def _same(a: Path, b: Path) -> bool:
    """The same file (a hard link), or a copy with the same bytes (size and modification time first)."""
    import filecmp

    sa, sb = a.stat(), b.stat()
    if os.path.samestat(sa, sb) or (sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns):
        return True
    return sa.st_size == sb.st_size and filecmp.cmp(a, b, shallow=False)
