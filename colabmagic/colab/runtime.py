"""`google.colab.runtime`: `unassign()` ends this kernel through the Jupyter server that runs it."""

from __future__ import annotations

import http.client
import queue
import threading

from ..locale import tr
from . import browser
from .failure import ColabAPIError

REFUSAL_SECONDS = 2.0   # how long unassign() waits to hear that the server refused


def unassign() -> None:
    """Shut this kernel down (Colab frees the whole machine; here the kernel is what was assigned).

    The server answers the DELETE only once the kernel is gone, and the kernel can only go once this
    cell ends: the request waits in a thread, and unassign() returns unless the server refuses at once.
    """
    server, kernel = browser.kernel_server(), browser.kernel_id()
    if server is None or kernel is None:
        raise ColabAPIError(tr("runtime.unassign(): no Jupyter server runs this kernel (nbclient, papermill, a "
                               "terminal): end it from where it was started"))
    answers: queue.Queue = queue.Queue()

    def delete() -> None:
        try:
            answers.put(server.request("DELETE", f"api/kernels/{kernel}", timeout=120)[0])
        except (OSError, http.client.HTTPException) as err:
            answers.put(err)

    threading.Thread(target=delete, name="colab-unassign", daemon=True).start()
    try:
        answer = answers.get(timeout=REFUSAL_SECONDS)
    except queue.Empty:
        return  # the server is shutting the kernel down
    if isinstance(answer, Exception):
        raise ColabAPIError(tr("runtime.unassign(): the Jupyter server at {url} did not answer ({reason})").format(
            url=server.url, reason=answer))
    if answer not in (204, 404):  # 404: already gone
        raise ColabAPIError(tr("runtime.unassign(): the Jupyter server at {url} refused (HTTP {status})").format(
            url=server.url, status=answer))
