"""Kaggle credentials: where they are (kagglehub's order, then colabmagic's secrets store), a
warning when a credentials file is readable by others, and the store's token put into the
environment for one call only. A Credentials says where they came from, never what they are."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...locale import tr
from .reference import WEB

TOKEN_PAGE = f"{WEB}/settings/api"

Warn = Callable[[str], None]


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
    return tr("Kaggle credentials not found. 1) Open {page} and click 'Generate New Token'. 2) Store the token: "
              "%secrets set KAGGLE_API_TOKEN (hidden prompt), or set the KAGGLE_API_TOKEN environment variable; a "
              "legacy kaggle.json goes to ~/.kaggle/kaggle.json, then chmod 600 ~/.kaggle/kaggle.json. 3) Run this "
              "line again.").format(page=TOKEN_PAGE)


def find_credentials(warn: Warn | None = None) -> Credentials:
    """kagglehub's order (kagglehub.login(), KAGGLE_API_TOKEN, ~/.kaggle/access_token,
    KAGGLE_USERNAME+KAGGLE_KEY, kaggle.json), then colabmagic's secrets store. Warns (with the chmod
    line) when a credentials file can be read by other users."""
    from ... import secrets

    warn = warn or print_warning
    config = sys.modules.get("kagglehub.config")
    if config is not None and getattr(config, "_kaggle_credentials", None):
        return Credentials("kagglehub.login()")
    if os.environ.get("KAGGLE_API_TOKEN"):
        token = os.environ["KAGGLE_API_TOKEN"]
        if os.path.isfile(token):
            _check_private(Path(token), warn)
            return Credentials(tr("the file named by KAGGLE_API_TOKEN ({path})").format(path=token))
        return Credentials(tr("the KAGGLE_API_TOKEN environment variable"))
    for name in ("access_token", "access_token.txt"):
        file = Path.home() / ".kaggle" / name
        if file.is_file() and file.read_text().strip():
            _check_private(file, warn)
            return Credentials(str(file))
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return Credentials(tr("the KAGGLE_USERNAME and KAGGLE_KEY environment variables"))
    kaggle_json = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle") / "kaggle.json"
    if kaggle_json.is_file():
        _check_private(kaggle_json, warn)
        return Credentials(str(kaggle_json))
    store = tr("colabmagic secrets ({path})").format(path=secrets.path())
    token = secrets.get("KAGGLE_API_TOKEN")
    if token:
        return Credentials(store, {"KAGGLE_API_TOKEN": token})
    username, key = secrets.get("KAGGLE_USERNAME"), secrets.get("KAGGLE_KEY")
    if username and key:
        return Credentials(store, {"KAGGLE_USERNAME": username, "KAGGLE_KEY": key})
    return Credentials("")


def _check_private(file: Path, warn: Warn) -> None:
    if os.name == "posix" and file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(tr("Warning: {file} can be read by other users; run  chmod 600 {file}").format(file=file))


def print_warning(message: str) -> None:
    print(message, file=sys.stderr)


@contextlib.contextmanager
def in_environment(values: dict[str, str]):
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


