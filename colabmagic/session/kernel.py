"""This kernel's process as the session sees it: its id, when it started, and how it ends.

Plain Python: ipykernel is asked only when it is already imported (a kernel runs it).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["end_kernel", "kernel_started_at", "this_kernel_id"]

SERVER_SHUTDOWN_WAIT = 15.0  # seconds a kernel's Jupyter server gets to shut it down before it exits itself


def this_kernel_id() -> str:
    """This kernel's id (from its connection file, kernel-<id>.json); 'pid-<pid>' outside a kernel."""
    if "ipykernel" in sys.modules:
        try:
            from ipykernel.connect import get_connection_file

            name = Path(get_connection_file()).stem
            return name[len("kernel-"):] if name.startswith("kernel-") else name
        except Exception:  # not running inside a kernel app (a plain IPython that imported ipykernel)
            pass
    return f"pid-{os.getpid()}"


def kernel_started_at() -> float:
    """When this process started (unix seconds): a session's limit counts from the kernel's start."""
    from ..processes import started_at

    return started_at(os.getpid()) or time.time()


def end_kernel() -> None:
    """End this kernel's process: the GPU memory it holds is freed only when the process goes.

    A kernel of a Jupyter server asks the server to shut it down (DELETE /api/kernels/<id>, what
    "Shut Down Kernel" does): a kernel process that just exits is started again by the server's
    auto-restarter. Elsewhere (a terminal, VS Code), or if the server has not ended it within
    SERVER_SHUTDOWN_WAIT seconds, the process ends itself.
    """
    import signal

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if _ask_server_to_shut_down():
        time.sleep(SERVER_SHUTDOWN_WAIT)  # the server's shutdown request ends this process meanwhile
    os.kill(os.getpid(), signal.SIGTERM)


def _ask_server_to_shut_down() -> bool:
    """Whether this kernel's Jupyter server took the request to shut it down."""
    import http.client

    from ..jupyter_servers import find_server

    kernel = this_kernel_id()
    if kernel.startswith("pid-"):
        return False
    try:
        server = find_server(kernel)
        if server is None:
            return False
        # the server answers once the kernel is gone: this process may end before the answer comes
        status = server.request("DELETE", f"api/kernels/{kernel}", timeout=SERVER_SHUTDOWN_WAIT)[0]
    except (OSError, http.client.HTTPException):  # a timeout too: the wait is over either way
        return False
    return status in (200, 204)
