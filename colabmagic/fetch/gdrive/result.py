"""What %drive_get returns: Downloaded, whose str() is the local path, with a summary (sizes and
rates through units.py) and an HTML table of the files."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ... import units
from .link import Source


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
