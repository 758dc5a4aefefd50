"""Whether the Jupyter server that shows this kernel's output can proxy TensorBoard.

The server is the one `colabmagic.jupyter_servers.find_server` finds. It can proxy when it answers
TensorBoard's `/data/logdir` through `<base_url>proxy/<port>/` (jupyter-server-proxy), or asks for a
login there.
`$TENSORBOARD_PROXY_URL` (TensorBoard's own setting; `%PORT%` is replaced) overrides all of this.
A terminal IPython, VS Code's kernels and `nbconvert --execute` have no such server: the charts are
then drawn inline (scalars.py).
"""

from __future__ import annotations

import http.client
import json
import os

from ..jupyter_servers import JupyterServer, find_server


def proxy_available(server: JupyterServer, port: int, prefix: str = "") -> bool | None:
    """True when `server` reaches TensorBoard on `port` (under its path PREFIX) through
    jupyter-server-proxy, False when it has no proxy, None when it could not be told (no answer)."""
    try:
        status, headers, body = server.get(f"proxy/{port}{prefix}/data/logdir")
    except (OSError, http.client.HTTPException):
        return None
    if status == 200:
        try:
            return "logdir" in json.loads(body)
        except ValueError:
            return False
    if status in (301, 302, 303) and "login" in headers.get("Location", ""):
        return True  # the proxy route exists and wants a login (a password server, no token)
    return False if status == 404 else None


class ProxyFinder:
    """Where the browser finds an instance: the iframe src, or None (then the charts are drawn inline).

    The server and whether it proxies are looked up once per process: a kernel's server does not change.
    """

    def __init__(self) -> None:
        self._servers: dict[str | None, JupyterServer | None] = {}
        self._proxies: dict[str, bool] = {}

    def frame_src(self, port: int, kernel_id: str | None, in_kernel: bool, prefix: str = "") -> str | None:
        """PREFIX: the instance's secret path prefix, which the proxied URL ends with."""
        explicit = os.environ.get("TENSORBOARD_PROXY_URL")
        if explicit:  # the trailing slash matters: TensorBoard's page loads index.js relative to it
            src = explicit.replace("%PORT%", str(port))
            if "?" in src:
                return src
            return src.rstrip("/") + prefix + "/"
        if not in_kernel:  # a terminal cannot show an iframe, whatever server started it
            return None
        server = self.server(kernel_id)
        if server is None:
            return None
        if server.url not in self._proxies:
            available = proxy_available(server, port, prefix)
            if available is None:
                return None
            self._proxies[server.url] = available
        return server.proxy_path(port).rstrip("/") + prefix + "/" if self._proxies[server.url] else None

    def server(self, kernel_id: str | None) -> JupyterServer | None:
        if kernel_id not in self._servers:
            self._servers[kernel_id] = find_server(kernel_id)
        return self._servers[kernel_id]
