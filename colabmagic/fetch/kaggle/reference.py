"""What to fetch from Kaggle: references as people paste them (`owner/slug`, `owner/slug/versions/N`,
a competition name, kaggle.com URLs), parsed once into a KaggleRef (kagglehub's handle.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from ...errors import ConfigError
from ...locale import tr

WEB = "https://www.kaggle.com"          # what the user opens (the API host is not a web page)


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
            return tr("competition {name}").format(name=self.slug)
        return f"{self.owner}/{self.slug}" + (f"/versions/{self.version}" if self.version else "")


_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_NOT_DATASETS = {"code", "models", "discussions", "learn", "kernels", "notebooks", "settings", "search"}


def parse_ref(text: str, *, competition: bool = False) -> KaggleRef:
    """`owner/slug`, `owner/slug/versions/N`, a competition slug (competition=True), or a kaggle.com
    URL: /datasets/OWNER/SLUG[/versions/N][?select=FILE], /competitions/SLUG, /c/SLUG, /OWNER/SLUG."""
    text = (text or "").strip()
    if not text:
        raise ConfigError(tr("Name a dataset (owner/dataset) or a competition (-c NAME)"))
    file = None
    if "://" in text or text.startswith(("www.kaggle.com", "kaggle.com")):
        parts = urlsplit(text if "://" in text else "https://" + text)
        host = (parts.hostname or "").lower()
        if host not in ("kaggle.com", "www.kaggle.com"):
            raise ConfigError(tr("{text} is not a kaggle.com address").format(text=text))
        file = (parse_qs(parts.query).get("select") or [None])[0]
        words = [w for w in parts.path.split("/") if w]
        if words[:1] in (["competitions"], ["c"]) and len(words) >= 2:
            return _competition(words[1], text)
        if words[:1] == ["datasets"]:
            words = words[1:]
        elif words[:1] and words[0] in _NOT_DATASETS:
            raise ConfigError(tr("{text}: %kaggle_get fetches datasets and competition files, not {page}").format(
                text=text, page=words[0]))
        # /OWNER/SLUG[/versions/N][/data]: everything after the slug except a version is a page tab
        version = None
        if len(words) >= 4 and words[2] == "versions" and words[3].isdigit():
            version = int(words[3])
        if len(words) < 2:
            raise ConfigError(tr("{text} names no dataset: expected {url}").format(
                text=text, url=f"{WEB}/datasets/OWNER/DATASET"))
        return _dataset(words[0], words[1], version, file, text)
    if competition:
        return _competition(text, text)
    words = text.split("/")
    if len(words) == 2:
        return _dataset(words[0], words[1], None, None, text)
    if len(words) == 4 and words[2] == "versions" and words[3].isdigit():
        return _dataset(words[0], words[1], int(words[3]), None, text)
    if len(words) == 1:
        raise ConfigError(tr("{text!r} is not a Kaggle dataset: expected owner/dataset or owner/dataset/versions/N "
                             "(a competition? use -c NAME)").format(text=text))
    raise ConfigError(tr("{text!r} is not a Kaggle dataset: expected owner/dataset or "
                         "owner/dataset/versions/N").format(text=text))


def _dataset(owner: str, slug: str, version: int | None, file: str | None, text: str) -> KaggleRef:
    if not (_SLUG.match(owner) and _SLUG.match(slug)):
        raise ConfigError(tr("{text!r} is not a Kaggle dataset: expected owner/dataset").format(text=text))
    if version is not None and version < 1:
        raise ConfigError(tr("{text!r}: dataset versions start at 1").format(text=text))
    return KaggleRef("dataset", slug, owner, version, file)


def _competition(slug: str, text: str) -> KaggleRef:
    if not _SLUG.match(slug):
        raise ConfigError(tr("{text!r} is not a Kaggle competition name").format(text=text))
    return KaggleRef("competition", slug)



def check_member_name(name: str) -> str:
    clean = name.replace("\\", "/").strip()
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if not parts or clean.startswith("/") or ".." in parts:
        raise ConfigError(tr("--file {name!r}: give a file's path inside the dataset, e.g. train.csv").format(
            name=name))
    return "/".join(parts)


