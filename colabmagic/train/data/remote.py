"""Where the named datasets' files come from: the data folder first, then a mirror, then their official URLs.

Each dataset lives in `<data folder>/<name>/` (the data folder is `COLABMAGIC_DATA`, default
`~/.cache/colabmagic/datasets`). A missing file is downloaded from the dataset's sources in order,
its published checksum verified; a source that fails, or serves other bytes, is passed over for
the next one (a refused file becomes one note of the run).

- `COLABMAGIC_DATA_MIRROR`, one base URL or local folder for every named dataset laid out as the
  data folder is (`<mirror>/<name>/<file name>`), is tried first: where the official hosts are slow
  or blocked, a university mirror or a shared disk holds the same files, checked the same way.
- The official URLs can be replaced by one base URL: the `base_url` argument, else the environment
  variable `COLABMAGIC_DATA_URL_<NAME>` (NAME upper-cased, e.g. COLABMAGIC_DATA_URL_FASHION_MNIST).
  The file name is appended to it.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ...errors import ConfigError, DataError, DownloadError, shown
from ...fetch import NetworkError, download
from ...fetch.progress import ByteProgress
from ...locale import tr

MIRROR_VARIABLE = "COLABMAGIC_DATA_MIRROR"  # a base URL or folder tried before every dataset's own sources


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
    # what the user should know about the downloads (a refused mirror file); load_dataset hands
    # them to the Dataset, whose run tells them once
    notes: list[str] = field(default_factory=list)


def ensure_files(dataset: str, root: Path, files: Sequence[RemoteFile], mirrors: Sequence[str], fetch: Fetch,
                 *, hint: str | None = None) -> list[Path]:
    """Paths of `files` under `root`, downloading the missing ones. `hint` says what to put where."""
    paths = [root / f.name for f in files]
    missing = [f for f, p in zip(files, paths) if not p.is_file()]
    if not missing:
        return paths
    wanted = hint or ", ".join(f.name for f in files)
    if not fetch.download:
        raise DataError(tr("{dataset} is not in {folder} and download=False: put {wanted} there").format(
            dataset=dataset, folder=root, wanted=wanted))
    checksums = _checksums(dataset, files, fetch.checksums)
    for f in missing:
        failures: list[DownloadError] = []
        for base in _sources(dataset, mirrors, fetch.base_url):
            bar = _progress(f.name, fetch.progress)
            try:
                download(base + f.name, root / f.name, progress=bar, **checksums[f.name])
                break
            except DownloadError as err:  # unreachable, HTTP error or other bytes: the next source may have it
                failures.append(err)
            finally:
                getattr(bar, "close", lambda: None)()
        else:
            reasons = "; ".join(str(err) for err in failures)
            raise DownloadError(tr("{dataset} is not in {folder} and could not be downloaded ({reasons}): "
                                   "put {wanted} there and run again").format(
                dataset=dataset, folder=root, reasons=reasons, wanted=wanted)) from failures[0]
        # an unreachable source is routine; one that served other bytes is worth a line
        fetch.notes.extend(tr("{error}; {file} was downloaded from {source} instead").format(
            error=err, file=f.name, source=base) for err in failures if not isinstance(err, NetworkError))
    return paths


def _sources(dataset: str, mirrors: Sequence[str], base_url: str | None) -> list[str]:
    """Base URLs to try in order, each ending in '/': the data mirror, then the override or the official ones."""
    override = base_url or os.environ.get(env_var(dataset))
    mirror = data_mirror()
    bases = ([mirror + dataset] if mirror else []) + ([override] if override else list(mirrors))
    return [u if u.endswith("/") else u + "/" for u in bases]


def data_mirror() -> str | None:
    """COLABMAGIC_DATA_MIRROR as a base URL: http(s) and file URLs as given, a folder as its file URL."""
    value = os.environ.get(MIRROR_VARIABLE, "").strip()
    if not value:
        return None
    scheme = urllib.parse.urlsplit(value).scheme.lower()
    if scheme in ("http", "https", "file"):
        return value if value.endswith("/") else value + "/"
    if "://" in value:
        raise ConfigError(tr("{variable} must be an http(s) URL or a folder, not {value!r}").format(
            variable=MIRROR_VARIABLE, value=shown(value)))
    return Path(value).expanduser().resolve().as_uri() + "/"


def env_var(dataset: str) -> str:
    return "COLABMAGIC_DATA_URL_" + "".join(c if c.isalnum() else "_" for c in dataset.upper())


def _checksums(dataset: str, files: Sequence[RemoteFile], overrides: Mapping[str, str] | None
               ) -> dict[str, dict[str, str | None]]:
    table = {f.name: {"md5": f.md5, "sha256": f.sha256} for f in files}
    for name, digest in (overrides or {}).items():
        if name not in table:
            raise ConfigError(tr("checksums: {dataset} has no file {name!r} (files: {files})").format(
                dataset=dataset, name=name, files=", ".join(table)))
        algorithm = {32: "md5", 64: "sha256"}.get(len(digest))
        if algorithm is None:
            raise ConfigError(tr("checksums: {name!r} needs an md5 (32 hex digits) or sha256 (64), "
                                 "got {digest!r}").format(name=name, digest=digest))
        table[name] = {"md5": None, "sha256": None, algorithm: digest}
    return table


def _progress(label: str, progress):
    if progress is True:  # drawn on the first byte: nothing shows for a request that fails at once
        return ByteProgress(label)
    return progress or None
