"""Which Jupyter server shows this kernel's output, and whether it can proxy TensorBoard.

The rule (`find_server`): the server whose pid is an ancestor of the kernel process (jupyter_server
starts kernels as its children), else the server whose `/api/kernels/<id>` knows this kernel's id
(from the kernel's connection file name, kernel-<id>.json). Servers are read from the
`jpserver-*.json` files in Jupyter's runtime dir (what `jupyter_server.serverapp.list_running_servers()`
reads, without importing jupyter_server). It can proxy when it answers TensorBoard's `/data/logdir`
through `<base_url>proxy/<port>/` (jupyter-server-proxy), or asks for a login there.
`$TENSORBOARD_PROXY_URL` (TensorBoard's own setting; `%PORT%` is replaced) overrides all of this.
A terminal IPython, VS Code's kernels and `nbconvert --execute` have no such server: the charts are
then drawn inline (scalars.py).
"""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class JupyterServer:
    url: str                            # as in its jpserver file: http://127.0.0.1:8888/base/
    base_url: str                       # "/base/"
    pid: int
    token: str = field(default="", repr=False)  # never shown

    def proxy_path(self, port: int) -> str:
        """The iframe's src: a path on the notebook page's own origin, through jupyter-server-proxy
        (the trailing slash matters: TensorBoard's index.js is loaded relative to it)."""
        return f"{self.base_url}proxy/{port}/"

    def get(self, path: str, timeout: float = 2.0, token: bool = True) -> tuple[int, dict, bytes]:
        """GET base_url + path on this server (with its token unless token=False)."""
        parts = urlsplit(self.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname, parts.port, timeout=timeout)
        headers = {"Authorization": f"token {self.token}"} if token and self.token else {}
        try:
            conn.request("GET", self.base_url + path.lstrip("/"), headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


def running_servers(runtime_dir: str | os.PathLike | None = None) -> list[JupyterServer]:
    """Live Jupyter servers of this user, from the jpserver-*.json files in Jupyter's runtime dir."""
    import psutil

    if runtime_dir is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            return []
        runtime_dir = jupyter_runtime_dir()
    servers = []
    for path in sorted(Path(runtime_dir).glob("jpserver-*.json")):
        try:
            info = json.loads(path.read_text())
            server = JupyterServer(url=info["url"], base_url=info.get("base_url") or "/",
                                   pid=int(info["pid"]), token=info.get("token") or "")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if psutil.pid_exists(server.pid) and not info.get("sock"):  # unix-socket servers: not probed
            servers.append(server)
    return servers


def find_server(kernel_id: str | None = None, *, pid: int | None = None,
                runtime_dir: str | os.PathLike | None = None) -> JupyterServer | None:
    """The Jupyter server this kernel belongs to (see the module's docstring for the rule)."""
    import psutil

    servers = running_servers(runtime_dir)
    if not servers:
        return None
    try:
        ancestors = {p.pid for p in psutil.Process(pid or os.getpid()).parents()}
    except psutil.Error:
        ancestors = set()
    for server in servers:
        if server.pid in ancestors:
            return server
    if kernel_id:
        for server in servers:
            try:
                if server.get(f"api/kernels/{kernel_id}")[0] == 200:
                    return server
            except (OSError, http.client.HTTPException):
                continue
    return None


def proxy_available(server: JupyterServer, port: int) -> bool | None:
    """True when `server` reaches TensorBoard on `port` through jupyter-server-proxy, False when it
    has no proxy, None when it could not be told (no answer)."""
    try:
        status, headers, body = server.get(f"proxy/{port}/data/logdir")
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

    def frame_src(self, port: int, kernel_id: str | None, in_kernel: bool) -> str | None:
        explicit = os.environ.get("TENSORBOARD_PROXY_URL")
        if explicit:  # the trailing slash matters: TensorBoard's page loads index.js relative to it
            src = explicit.replace("%PORT%", str(port))
            return src if src.endswith("/") or "?" in src else src + "/"
        if not in_kernel:  # a terminal cannot show an iframe, whatever server started it
            return None
        server = self.server(kernel_id)
        if server is None:
            return None
        if server.url not in self._proxies:
            available = proxy_available(server, port)
            if available is None:
                return None
            self._proxies[server.url] = available
        return server.proxy_path(port) if self._proxies[server.url] else None

    def server(self, kernel_id: str | None) -> JupyterServer | None:
        if kernel_id not in self._servers:
            self._servers[kernel_id] = find_server(kernel_id)
        return self._servers[kernel_id]
