"""Notes: what the core decided for the user that they should know (a renamed run, resized images,
a small split, a finished run given back).

Each note is told once, as the run starts: in Python as a warning (TrainingNote) and kept in
result.extra["notes"]; in %train, in_magic_words (magics/train.py) prints it as a plain line in
the magic's words instead (a note naming an option is an errors.Message). The loaders and the
plan only collect notes; they never warn with them.
"""

from __future__ import annotations

import warnings
from typing import Iterable


class TrainingNote(UserWarning):
    """A note about a run (see the module docstring): worth reading, nothing went wrong."""


def tell(notes: Iterable[str], *, stacklevel: int = 4) -> None:
    """Warn with each note; the default stacklevel names the caller of train() (tell < fit < train)."""
    for note in notes:
        warnings.warn(note, TrainingNote, stacklevel=stacklevel)
