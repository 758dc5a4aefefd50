"""`kaggle_get`: one fetch from reference to local files. Resolve the version, use kagglehub's cache
or download (the one downloader) and unpack (archives), then place the files under --path.

Files land in kagglehub's own cache layout (KAGGLEHUB_CACHE, default ~/.cache/kagglehub) with its
completion markers, so `kagglehub.dataset_download()` finds what `%kaggle_get` fetched and back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from ...errors import CredentialsError, require
from ..download import Download
from ..progress import ByteProgress
from .client import ResponseBody, current_version, request_download
from .credentials import Warn, find_credentials, in_environment, missing_credentials_message, print_warning
from .failures import SPACE_HINT, explained
from .placement import list_files, place
from .reference import KaggleRef, check_member_name, parse_ref
from .result import KaggleFiles
from .unpacking import extract_member, extract_replacing

RETRIES = 3                              # reconnects (with Range) after a transfer breaks off
READ_TIMEOUT = 60                        # seconds without a byte before a transfer counts as broken


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
        file = check_member_name(file)
    require("kagglehub", "data")
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        (warn or print_warning)(message)

    credentials = find_credentials(note)
    if ref.kind == "competition" and not credentials:
        raise CredentialsError(missing_credentials_message())
    started = time.perf_counter()
    fetch = _Fetch(ref, file, force=force, unzip=unzip, progress=progress, retries=retries)
    with in_environment(credentials.env), explained(ref, credentials, file):
        fetch.run()
    resolved = KaggleRef(ref.kind, ref.slug, ref.owner, fetch.version, file)
    result = KaggleFiles(str(resolved), resolved.url, fetch.local, fetch.local, fetch.version,
                         downloaded_bytes=fetch.downloaded, cached=fetch.cached, warnings=warnings)
    if path is not None:
        result.path, result.placed = place(fetch.local, Path(path).expanduser().absolute(), force=force)
    result.files = list_files(result.path)
    result.seconds = time.perf_counter() - started
    return result


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
                    self.version = current_version(api, self.ref)
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
            self.local = self._receive(request_download(api, self.ref, self.version, self.file), final)
            if self.unzip:
                cache.mark_as_complete(handle, self.file)

    def _archive_name(self, archive: Path, final: Path) -> Path:
        """Where --no-unzip keeps the download: the bundle as SLUG[-vN].zip next to kagglehub's
        archive; one file under its own name (NAME.zip when Kaggle zipped it)."""
        if self.file:
            return final
        suffix = f"-v{self.version}" if self.version else ""
        return archive.parent / f"{self.ref.slug}{suffix}.zip"

    def _receive(self, body: ResponseBody, final: Path) -> Path:
        served = Path(urlsplit(body.url).path).name
        zipped_file = bool(self.file) and served == Path(self.file).name + ".zip"
        if not self.unzip and zipped_file:
            final = final.with_name(final.name + ".zip")
        download = final if (not self.unzip or (self.file and not zipped_file)) else \
            final.parent / f".{final.name}.download"
        label = self.file or self.ref.slug
        with ByteProgress(label, enabled=self.progress, leave=False) as bar:
            transfer = Download(body.url, download, md5=body.md5(), progress=bar, timeout=READ_TIMEOUT,
                                retries=self.retries, label=label, space_hint=SPACE_HINT)
            transfer.run(first=body)
        self.downloaded = transfer.received
        if download == final:
            return final
        try:
            if zipped_file:
                extract_member(download, final, Path(self.file).name)
            else:
                extract_replacing(download, final)
        finally:
            download.unlink(missing_ok=True)
        return final
