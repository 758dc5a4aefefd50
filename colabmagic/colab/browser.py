"""Whether a browser shows this kernel: the Jupyter server that started it, if any.

A kernel that JupyterLab or Notebook 7 runs belongs to a Jupyter server (jupyter_servers.find_server);
nbclient, papermill, VS Code and a terminal IPython have none, and there `files.upload()` reads
`$COLABMAGIC_UPLOAD`, `files.download()` copies, and iframes point at the kernel's own port.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..jupyter_servers import JupyterServer, find_server


def shell():
    """The running IPython shell, or None in plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def kernel_id() -> str | None:
    """This kernel's id, from its connection file's name (kernel-<id>.json), as Jupyter names it."""
    if getattr(shell(), "kernel", None) is None:
        return None
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # another kernel implementation: no id to match
        return None
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") and name.endswith(".json") else None


@functools.lru_cache(maxsize=1)
def kernel_server() -> JupyterServer | None:
    """The Jupyter server this kernel belongs to (looked up once: a kernel never changes server)."""
    if getattr(shell(), "kernel", None) is None:
        return None
    return find_server(kernel_id())
