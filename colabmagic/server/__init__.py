"""The Jupyter server extension behind the JupyterLab toolbar.

It serves the core's readings to the browser under /colabmagic/api/:
`resources` (Colab's /api/colab/resources shape plus per-kernel RSS), `session[/<kernel_id>]`
(the session clock, enforced here) and `runtime[/<kernel_id>]` (devices and the selection).
The wheel enables it through jupyter-config/jupyter_server_config.d/colabmagic.json; this
module is imported only by jupyter_server, never by `%load_ext colabmagic`.
"""

from __future__ import annotations

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points():
    return [{"module": "colabmagic.server"}]


def _load_jupyter_server_extension(serverapp):
    from .app import setup

    setup(serverapp)


# jupyter_server < 2 and Notebook 6 look for the old name
load_jupyter_server_extension = _load_jupyter_server_extension
