"""The content root: this machine's stand-in for Colab's working folder `/content`.

The root is `$COLABMAGIC_CONTENT`, else `/content` when it exists and this user can write to it,
else `~/content`. `/content` itself is never created: on a shared machine it is not ours to make.
`mapped()` turns a Colab path (`/content/drive/MyDrive/x.csv`) into the same path under the root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

COLAB_ROOT = "/content"
ENV = "COLABMAGIC_CONTENT"

# `/content` as a whole path component at the start of a path: not `/contents`, `/content.txt`,
# `~/content` or `/srv/content`
COLAB_PATH = re.compile(r"(?<![\w.~/-])/content(?=/|(?![\w.-]))")


def root() -> Path:
    """The content root (not created here: `ensure_root` does that)."""
    chosen = os.environ.get(ENV)
    if chosen:
        return Path(os.path.abspath(os.path.expanduser(chosen)))
    if os.path.isdir(COLAB_ROOT) and os.access(COLAB_ROOT, os.W_OK | os.X_OK):
        return Path(COLAB_ROOT)
    return Path.home() / "content"


def ensure_root() -> Path:
    """The content root, created when it is ours to create (never `/content`)."""
    folder = root()
    if str(folder) != COLAB_ROOT:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def mapped(path: str | os.PathLike) -> str:
    """PATH with a leading `/content` moved to the root; any other path unchanged."""
    text = os.fspath(path)
    base = str(root())
    if base == COLAB_ROOT or not text.startswith(COLAB_ROOT):
        return text
    return COLAB_PATH.sub(lambda _: base, text, count=1) if COLAB_PATH.match(text) else text
