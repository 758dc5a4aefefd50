"""What %kaggle_get returns: KaggleFiles, whose str() is the local path, shown as a summary and a
short tree of the files (text and HTML), sizes and rates through units.py."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ... import units
from ...locale import tr, trn


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
        files = trn("{count} file", "{count} files", len(self.files)).format(count=len(self.files))
        if self.cached:
            how = tr("from the cache (--force downloads again)")
        else:
            speed = f", {units.rate(self.downloaded_bytes / self.seconds)}" if self.seconds > 0 else ""
            how = tr("downloaded {size} in {seconds} s{speed}").format(
                size=units.size(self.downloaded_bytes), seconds=f"{self.seconds:.1f}", speed=speed)
        line = tr("{ref}: {files}, {size}, {how}").format(ref=self.ref, files=files,
                                                          size=units.size(self.total_bytes), how=how)
        if self.placed == "linked":
            return tr("{summary}; linked from {cache}").format(summary=line, cache=self.cache_path)
        if self.placed == "copied":
            return tr("{summary}; copied from {cache}").format(summary=line, cache=self.cache_path)
        return line

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
        size = units.size(sum(sizes))
        if label.endswith("/"):  # a folder: how many files it holds
            size = trn("{count} file, {size}", "{count} files, {size}", len(sizes)).format(count=len(sizes), size=size)
        rows.append((label, size))
    if len(rows) > limit:
        rest = rows[limit - 1:]
        rows = rows[:limit - 1] + [(tr("... {count} more").format(count=len(rest)), "")]
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


