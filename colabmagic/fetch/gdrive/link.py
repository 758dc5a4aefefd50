"""What a pasted Drive link names: `parse(text)` turns whatever people paste into a `Source`, a Drive
file or folder ID from any link form (`/file/d/ID/view?usp=sharing`, `open?id=`, `uc?id=`,
`drive/folders/ID`, docs links, a bare ID) or a plain http(s) URL."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from ...errors import ConfigError
from ...locale import tr

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
        raise ConfigError(tr("{text!r} is not a Google Drive link, a Drive file ID or an http(s) URL").format(
            text=text))
    if parts.hostname not in DRIVE_HOSTS:
        if folder:
            raise ConfigError(tr("--folder works with Google Drive folders only, not with plain URLs"))
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
    raise ConfigError(tr("Cannot find a file or folder ID in {text!r}: paste the link from Drive's Share → Copy "
                         "link, or just the ID").format(text=text))
