"""Runtime selection seen from the server: the devices to offer and what a choice means.

`colabmagic.runtime` owns device specs (parse_spec), discovery and the notebook metadata keys;
this module only turns a dialog's choice into (spec, metadata to save, the silent execute that
applies it in the kernel) and remembers each kernel's last choice for the toolbar.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from ..errors import ConfigError
from ..locale import tr

__all__ = ["Runtimes", "apply_code", "list_devices"]


def _runtime():
    from .. import runtime

    return runtime


def list_devices() -> list[dict]:
    """JSON-ready devices of this machine (blocking: NVML)."""
    return [device.to_dict() for device in _runtime().devices()]


def normalize(text) -> str:
    """The canonical spec for `text`, through runtime.parse_spec (the one parser)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(tr("spec must be a device spec such as 'cpu', 'cuda:0' or 'auto', not {spec!r}").format(
            spec=text))
    return str(_runtime().parse_spec(text.strip()))


def apply_code(spec: str) -> dict:
    """What the frontend runs silently in the kernel: select `spec` and hand back the Selection.

    The Selection travels as application/json in the execute reply's user_expressions, so the
    frontend reads it without parsing Python reprs and without printing into the notebook.
    """
    literal = json.dumps(spec)  # a JSON string is a valid Python string literal here
    return {
        "code": "import colabmagic.runtime as _colabmagic_runtime",
        "user_expressions": {
            "selection": "__import__('IPython.display', fromlist=['JSON']).JSON("
                         f"_colabmagic_runtime.select({literal}).to_dict())",
        },
    }


class Runtimes:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.selections: dict[str, dict] = {}  # kernel id -> last choice sent to it

    def choose(self, kernel_id: str, request: dict) -> dict:
        """POST body {"spec": "cpu"} or {"metadata": <notebook metadata>}. Blocking. Bad -> ConfigError."""
        runtime = _runtime()
        if "spec" in request:
            spec = normalize(request["spec"])
        elif "metadata" in request:
            if not isinstance(request["metadata"], dict):
                raise ConfigError(tr("metadata must be the notebook's metadata object"))
            found = runtime.from_notebook_metadata(request["metadata"])
            spec = normalize(found) if found else "auto"
        else:
            raise ConfigError(tr('POST {"spec": "cpu"} or {"metadata": {...}}'))
        record = {"spec": spec, "metadata": runtime.to_notebook_metadata(spec), "chosen_at": self.clock()}
        self.selections[kernel_id] = record
        return {"kernel_id": kernel_id, **record, "execute": apply_code(spec)}
