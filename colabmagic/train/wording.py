"""Messages in the words of the interface they reach: `target=COLUMN` in Python, `--target COLUMN` in %train.

The core (config, loaders, plan) names an option the Python way, `name=value` or `name=`, with
`name` a TrainConfig field (or `data`). The magic passes what it shows through `for_magic`:

    for_magic("leave it out with drop='Name,Id'")   ->  "leave it out with --drop Name,Id"
    for_magic("pass target=COLUMN (columns: a, b)")  ->  "pass --target COLUMN (columns: a, b)"
    for_magic("image_size= does not apply to x.csv") ->  "--image-size does not apply to x.csv"

`magic_wording()` does it for everything a call raises or warns: a ColabMagicError comes out as
the same object with its message reworded (its class and attributes, like TrainingInterrupted.result,
kept), a run's notes (notes.TrainingNote) are printed at once as plain lines, and other warnings
are re-issued reworded once the call is over.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import warnings
from dataclasses import fields
from typing import Iterator

from ..errors import ColabMagicError

# options a user may write in the magic whose flag is not just --name-with-dashes
SPECIAL = {"data": "--data", "dataset": "DATASET", "model": "MODEL"}


def flag_for(field: str) -> str:
    """The %train flag for a TrainConfig field: image_size -> --image-size."""
    return SPECIAL.get(field, "--" + field.replace("_", "-"))


def _names() -> list[str]:
    from .config import TrainConfig

    return sorted({f.name for f in fields(TrainConfig)} | {"data"}, key=len, reverse=True)


def for_magic(message: str) -> str:
    """Reword `name=value` / `name=` (TrainConfig fields) as the magic's `--name value` / `--name`."""
    names = "|".join(re.escape(n) for n in _names())
    pattern = re.compile(r"(?<![\w.\-])(" + names + r")=(?:'([^']*)'|\"([^\"]*)\"|\[\.\.\.\]|([^\s,;:)]*))")

    def replace(match: re.Match) -> str:
        name = match.group(1)
        value = next((g for g in match.group(2, 3, 4) if g is not None), "")
        flag = flag_for(name)
        if not value:
            return flag
        if value in ("True", "False") and name in ("resume", "compile"):
            return flag if value == "True" else f"no {flag}"
        return f"{flag} {_quoted(value)}"

    return pattern.sub(replace, message)


def _quoted(value: str) -> str:
    """shlex.quote, except that letters of any script need no quotes (`--text 名称`, as shlex.split reads it)."""
    return value if re.fullmatch(r"[\w@%+=:,./-]+", value) else shlex.quote(value)


@contextlib.contextmanager
def magic_wording() -> Iterator[None]:
    """Reword the errors and warnings of the calls inside for the magic (see the module docstring)."""
    from .notes import TrainingNote

    caught: list[warnings.WarningMessage] = []

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, TrainingNote):  # a note: a line of its own, before the run's output
            print(for_magic(str(message)))
        else:
            caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))

    try:
        with warnings.catch_warnings():  # restores showwarning on the way out
            warnings.simplefilter("always")
            warnings.showwarning = show
            yield
    except ColabMagicError as err:
        err.args = (for_magic(str(err)),) + tuple(err.args[1:])  # in place: its class and attributes stay
        raise
    finally:
        for item in caught:
            warnings.warn_explicit(for_magic(str(item.message)), item.category, item.filename, item.lineno)
