"""What %drive_get returns: Downloaded, whose str() is the local path, with a summary (sizes and
rates through units.py) and an HTML table of the files."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ... import units
from ...locale import mark, tr, trn
from .link import Source

KINDS = {"file": mark("Drive file"), "folder": mark("Drive folder"), "url": mark("URL")}  # Source.kind as shown


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
        if self.reused:
            head = tr("{path} is already here ({size}); nothing downloaded").format(
                path=self.path, size=units.size(self.bytes))
        else:
            rate = f", {units.rate(self.bytes / self.seconds)}" if self.seconds > 0 else ""
            files = trn("{count} file", "{count} files", len(self.files)).format(count=len(self.files))
            head = tr("{what} → {path} ({files}, {size} in {seconds} s{rate})").format(
                what=tr(KINDS[self.source.kind]), path=self.path, files=files, size=units.size(self.bytes),
                seconds=f"{self.seconds:.1f}", rate=rate)
        lines = [head]
        if self.archive is not None:
            lines.append(tr("extracted {archive} into {path}").format(archive=self.archive.name, path=self.path))
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(self.summary())

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(str(path))}</code></td><td style='text-align:right'>"
                       f"{units.size(size)}</td></tr>" for path, size in self.files[:20])
        if len(self.files) > 20:
            more = tr("… {count} more").format(count=len(self.files) - 20)
            rows += f"<tr><td colspan=2>{html.escape(more)}</td></tr>"
        extracted = tr("extracted {archive}").format(archive=self.archive.name) if self.archive else ""
        return (f"<div><b>{html.escape(self.summary().splitlines()[0])}</b>"
                + (f"<br>{html.escape(extracted)}" if extracted else "")
                + (f"<table>{rows}</table>" if rows else "") + "</div>")
