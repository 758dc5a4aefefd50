"""Secrets, the local equivalent of Colab's `google.colab.userdata`: the environment first, then a file.

- `get(name)` returns the value of environment variable NAME when it is set, else the value
  stored in `~/.config/colabmagic/secrets.json` (or `$XDG_CONFIG_HOME/colabmagic/secrets.json`),
  else None. `set(name, value)` and `delete(name)` change only the file; `names()` says which
  names exist and where each comes from, never a value.
- The file holds one JSON object `{"secrets": {NAME: VALUE}}`, has mode 0600 in a 0700 folder,
  and is rewritten whole or not at all (files.py), under a lock so that two kernels
  saving at once do not lose each other's change. A file others can read still works, with a
  SecretsWarning that gives the chmod line.
- Nothing here prints, logs or puts a value into an exception message.
"""

from __future__ import annotations

import html
import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .files import locked, write_atomically
from .columns import padded
from .errors import ConfigError
from .locale import mark, tr

FILE_NAME = "secrets.json"
# Credentials that commonly live in the environment: names() reports them when set there, so that
# `%secrets` shows what the notebook can use without listing every environment variable.
WELL_KNOWN = ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
              "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "WANDB_API_KEY",
              "GITHUB_TOKEN")
ENVIRONMENT = mark("environment")  # a source's value (compared as it is); shown through tr()
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SecretsWarning(UserWarning):
    """The secrets file can be read by other users (or cannot be read at all)."""


def path() -> Path:
    """Where the secrets file lives (it may not exist yet)."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "colabmagic" / FILE_NAME


def get(name: str) -> str | None:
    """The secret NAME: from the environment when set there, else from the file, else None."""
    _check_name(name)
    value = os.environ.get(name)
    if value:
        return value
    return _read().get(name)


def source(name: str) -> str | None:
    """Where get(name) would take NAME from: "environment", the file's path, or None."""
    _check_name(name)
    if os.environ.get(name):
        return ENVIRONMENT
    return str(path()) if name in _read() else None


def names() -> dict[str, str]:
    """Every secret get() can see, NAME -> where it comes from ("environment" or the file's path),
    sorted by name. The environment counts for names stored in the file and for WELL_KNOWN ones."""
    stored = _read()
    found = {}
    for name in sorted(stored.keys() | {n for n in WELL_KNOWN if os.environ.get(n)}):  # (set() is ours here)
        found[name] = ENVIRONMENT if os.environ.get(name) else str(path())
    return found


def shadowed(name: str) -> bool:
    """True when NAME is in the file and also set in the environment, which wins."""
    _check_name(name)
    return bool(os.environ.get(name)) and name in _read()


def set(name: str, value: str) -> Path:  # noqa: A001 - the plain userdata-style name is the API
    """Store NAME=value in the file (mode 0600), replacing an older value. Returns the file's path."""
    _check_name(name)
    if not isinstance(value, str):
        raise ConfigError(tr("The secret {name} must be a string, not {type}")
                          .format(name=name, type=type(value).__name__))
    if not value:
        raise ConfigError(tr("The secret {name} is empty: nothing was stored").format(name=name))
    with _locked():
        stored = _read()
        stored[name] = value
        return _write(stored)


def delete(name: str) -> bool:
    """Remove NAME from the file. True when it was there; the environment is left alone."""
    _check_name(name)
    with _locked():
        stored = _read()
        if name not in stored:
            return False
        del stored[name]
        _write(stored)
        return True


@dataclass
class SecretNames:
    """What `%secrets` shows: each name and where it comes from, never a value."""

    sources: dict[str, str] = field(default_factory=dict)  # NAME -> "environment" or the file's path
    file: str = ""                                           # the secrets file (it may not exist)
    shadowed: list[str] = field(default_factory=list)      # in the file, but the environment wins

    def __str__(self) -> str:
        if not self.sources:
            return tr("No secrets yet. %secrets set NAME stores one in {file} (mode 0600); "
                      "an environment variable of the same name works too and wins.").format(file=self.file)
        width = max(len(n) for n in self.sources)
        lines = [padded(tr("name"), width) + "  " + tr("from")]
        for name, where in self.sources.items():
            note = tr(" (overrides {file})").format(file=self.file) if name in self.shadowed else ""
            lines.append(f"{name:<{width}}  {_shown(where)}{note}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        if not self.sources:
            return f"<pre>{html.escape(str(self))}</pre>"
        overrides = html.escape(tr(" (overrides the file)"))  # (Babel reads no calls inside an f-string)
        rows = "".join(
            f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(_shown(w))}"
            f"{overrides if n in self.shadowed else ''}</td></tr>"
            for n, w in self.sources.items())
        name, where = html.escape(tr("name")), html.escape(tr("from"))
        return f"<table><tr><th>{name}</th><th>{where}</th></tr>{rows}</table>"


def _shown(where: str) -> str:
    """Where a secret comes from, as a person reads it: "environment" in the user's language, a path as it is."""
    return tr(ENVIRONMENT) if where == ENVIRONMENT else where


def listing() -> SecretNames:
    """names() as a displayable result."""
    stored = _read()
    found = names()
    return SecretNames(found, str(path()), [n for n in found if n in stored and found[n] == ENVIRONMENT])


# --- the file ---------------------------------------------------------------------------------

def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(tr("{name!r} is not a secret name: use letters, digits and _ (like KAGGLE_API_TOKEN)")
                          .format(name=name))


def _read() -> dict[str, str]:
    file = path()
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        return {}
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(tr("{file} can be read by other users: run  chmod 600 {file}").format(file=file),
                      SecretsWarning, stacklevel=3)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        # never quote the content: it holds secrets
        raise ConfigError(tr("{file} cannot be read as JSON ({error}): fix or delete it")
                          .format(file=file, error=type(err).__name__)) from None
    stored = data.get("secrets") if isinstance(data, dict) else None
    if not isinstance(stored, dict) or not all(isinstance(v, str) for v in stored.values()):
        raise ConfigError(tr("{file} is not a colabmagic secrets file ({layout}): fix or delete it")
                          .format(file=file, layout='{"secrets": {NAME: VALUE}}'))
    return dict(stored)


def _write(stored: dict[str, str]) -> Path:
    file = path()
    _make_folder(file.parent)
    payload = json.dumps({"secrets": dict(sorted(stored.items()))}, indent=1).encode("utf-8") + b"\n"

    def write(out):
        if os.name == "posix":
            os.fchmod(out.fileno(), 0o600)  # whatever the umask: the .part is never readable by others
        out.write(payload)

    return write_atomically(file, write, mode=0o600)


def _make_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and folder.stat().st_mode & 0o077:
        folder.chmod(0o700)  # made earlier with a looser mode (by hand, an older version): keep it private


def _locked():
    """Serialise read-modify-write between processes (a lock file next to the secrets file)."""
    folder = path().parent
    _make_folder(folder)
    return locked(folder / ".secrets.lock")
