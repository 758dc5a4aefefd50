"""`google.colab.userdata`: `get(key)` over colabmagic.secrets (`%secrets`): the environment first,
then the 0600 store. Colab's two errors keep their names, so `except userdata.SecretNotFoundError`
works as written."""

from __future__ import annotations

import os

from .. import secrets
from ..locale import tr
from .failure import ColabCredentialsError


class SecretNotFoundError(ColabCredentialsError):
    """No secret of that name (Colab's error)."""

    def __init__(self, key: str):
        super().__init__(tr("Secret {key} does not exist. Set it with %secrets set {key}, or as an environment "
                            "variable of the same name").format(key=key))


class NotebookAccessError(ColabCredentialsError):
    """The secret may exist, but this notebook cannot read the store (Colab's error for a notebook
    not granted access; here: a store this user cannot read)."""

    def __init__(self, key: str):
        super().__init__(tr("This notebook cannot read secret {key}: {path} is not readable by this user "
                            "(chmod 600 it as its owner)").format(key=key, path=secrets.path()))


def get(key: str) -> str:
    """The secret KEY's value."""
    store = secrets.path()
    if not os.environ.get(key) and store.exists() and not os.access(store, os.R_OK):
        raise NotebookAccessError(key)
    value = secrets.get(key)
    if value is None:
        raise SecretNotFoundError(key)
    return value
