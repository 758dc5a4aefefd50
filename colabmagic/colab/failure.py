"""How a `google.colab` call that cannot work here fails: one line in the notebook, no traceback.

These errors are raised in the user's own Python (`drive.mount(...)`, `files.upload()`), not in a
magic, so IPython would show a traceback through our code; `_render_traceback_` is IPython's hook
for an exception that words itself.
"""

from __future__ import annotations

from ..errors import ColabMagicError, CredentialsError


class OneLine:
    """Mixed into an exception: IPython shows `Name: message` and nothing else."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class ColabAPIError(OneLine, ColabMagicError):
    """A Colab function that cannot do its job on this machine; the message says what to do instead."""


class ColabCredentialsError(OneLine, CredentialsError):
    """A secret or credential a Colab function needs is missing."""
