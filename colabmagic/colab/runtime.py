"""`google.colab.runtime`: `unassign()` ends this kernel through the Jupyter server that runs it."""

from __future__ import annotations

import http.client

from . import browser
from .failure import ColabAPIError


def unassign() -> None:
    """Shut this kernel down (Colab frees the whole machine; here the kernel is what was assigned)."""
    server, kernel = browser.kernel_server(), browser.kernel_id()
    if server is None or kernel is None:
        raise ColabAPIError("runtime.unassign(): no Jupyter server runs this kernel (nbclient, papermill, a "
                            "terminal): end it from where it was started")
    try:
        status = server.request("DELETE", f"api/kernels/{kernel}", timeout=10)[0]
    except (OSError, http.client.HTTPException) as err:
        raise ColabAPIError(f"runtime.unassign(): the Jupyter server at {server.url} did not answer ({err})") from None
    if status not in (204, 404):  # 404: it is already gone
        raise ColabAPIError(f"runtime.unassign(): the Jupyter server at {server.url} refused (HTTP {status})")
