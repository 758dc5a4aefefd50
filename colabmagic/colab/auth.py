"""`google.colab.auth`: Google Cloud credentials come from this machine's own Application Default
Credentials, not from Colab's browser sign-in."""

from __future__ import annotations

import os
from pathlib import Path

from ..locale import tr
from .failure import ColabAPIError


def _adc_file() -> Path:
    config = os.environ.get("CLOUDSDK_CONFIG") or os.path.join(os.path.expanduser("~"), ".config", "gcloud")
    return Path(config) / "application_default_credentials.json"


def authenticate_user(clear_output: bool = True, project_id: str | None = None) -> None:
    """Succeeds when Application Default Credentials exist here; otherwise says how to make them."""
    named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if (named and Path(named).expanduser().is_file()) or _adc_file().is_file():
        if project_id:
            os.environ["GOOGLE_CLOUD_PROJECT"] = project_id
        return
    raise ColabAPIError(tr("auth.authenticate_user() signs in through Colab's browser, which is not here: run "
                           "`gcloud auth application-default login` in a terminal, or set "
                           "GOOGLE_APPLICATION_CREDENTIALS to a service account key file"))
