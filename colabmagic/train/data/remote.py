"""Where the named datasets' files come from: the data folder first, then their official URLs.

Each dataset lives in `<data folder>/<name>/` (the data folder is `COLABMAGIC_DATA`, default
`~/.cache/colabmagic/datasets`). A missing file is downloaded from the dataset's mirrors in order,
its published checksum verified. The mirrors can be replaced by one base URL: the `base_url`
argument, else the environment variable `COLABMAGIC_DATA_URL_<NAME>` (NAME upper-cased,
e.g. COLABMAGIC_DATA_URL_FASHION_MNIST). The file name is appended to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ...errors import ConfigError, DataError, DownloadError
from ...fetch import NetworkError, download
from ...fetch.progress import ByteProgress


@dataclass(frozen=True)
class RemoteFile:
    name: str                 # file name in the dataset folder and at the end of the URL
    md5: str | None = None    # the published checksum of the official file
    sha256: str | None = None


@dataclass(frozen=True)
class Fetch:
    """How a named dataset may reach the network (the options of load_dataset that concern it)."""

    base_url: str | None = None
    download: bool = True
    # file name -> hex digest (32 digits: md5, 64: sha256) replacing the published one; for tests
    # and private mirrors that serve other bytes under the official names
    checksums: Mapping[str, str] | None = None
    # True: a tqdm bar per file; False: silent; or a callable(done_bytes, total_bytes_or_None)
    progress: bool | Callable[[int, int | None], None] = True


def ensure_files(dataset: str, root: Path, files: Sequence[RemoteFile], mirrors: Sequence[str], fetch: Fetch,
                 *, hint: str | None = None) -> list[Path]:
    """Paths of `files` under `root`, downloading the missing ones. `hint` says what to put where."""
    paths = [root / f.name for f in files]
    missing = [f for f, p in zip(files, paths) if not p.is_file()]
    if not missing:
        return paths
    wanted = hint or ", ".join(f.name for f in files)
    if not fetch.download:
        raise DataError(f"{dataset} is not in {root} and download=False: put {wanted} there")
    checksums = _checksums(dataset, files, fetch.checksums)
    for f in missing:
        failures: list[NetworkError] = []
        for base in _bases(dataset, mirrors, fetch.base_url):
            bar = _progress(f.name, fetch.progress)
            try:
                download(base + f.name, root / f.name, progress=bar, **checksums[f.name])
                break
            except NetworkError as err:  # unreachable or HTTP error: the next mirror may have it
                failures.append(err)
            finally:
                getattr(bar, "close", lambda: None)()
        else:
            raise DownloadError(f"{dataset} is not in {root} and could not be downloaded ({failures[0]}): "
                                f"put {wanted} there and run again") from failures[0]
    return paths


def _bases(dataset: str, mirrors: Sequence[str], base_url: str | None) -> list[str]:
    override = base_url or os.environ.get(env_var(dataset))
    return [u if u.endswith("/") else u + "/" for u in ([override] if override else mirrors)]


def env_var(dataset: str) -> str:
    return "COLABMAGIC_DATA_URL_" + "".join(c if c.isalnum() else "_" for c in dataset.upper())


def _checksums(dataset: str, files: Sequence[RemoteFile], overrides: Mapping[str, str] | None
               ) -> dict[str, dict[str, str | None]]:
    table = {f.name: {"md5": f.md5, "sha256": f.sha256} for f in files}
    for name, digest in (overrides or {}).items():
        if name not in table:
            raise ConfigError(f"checksums: {dataset} has no file {name!r} (files: {', '.join(table)})")
        algorithm = {32: "md5", 64: "sha256"}.get(len(digest))
        if algorithm is None:
            raise ConfigError(f"checksums: {name!r} needs an md5 (32 hex digits) or sha256 (64), got {digest!r}")
        table[name] = {"md5": None, "sha256": None, algorithm: digest}
    return table


def _progress(label: str, progress):
    if progress is True:  # drawn on the first byte: nothing shows for a request that fails at once
        return ByteProgress(label)
    return progress or None
