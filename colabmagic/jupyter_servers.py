"""Which Jupyter servers run for this user, and which one a kernel belongs to.

Servers are read from the `jpserver-*.json` files in Jupyter's runtime dir (what
`jupyter_server.serverapp.list_running_servers()` reads, without importing jupyter_server). A
kernel's server (`find_server`) is the one whose pid is an ancestor of the kernel process
(jupyter_server starts kernels as its children), else the one whose `/api/kernels/<id>` knows the
kernel's id (from its connection file name, kernel-<id>.json). `%tensorboard_inline` frames its
instances through that server; a `shutdown` session asks it to shut its kernel down.
"""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["JupyterServer", "find_server", "running_servers"]


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
        return self.request("GET", path, timeout, token)

    def request(self, method: str, path: str, timeout: float = 2.0, token: bool = True) -> tuple[int, dict, bytes]:
        """`method` base_url + path on this server, without a body: (status, headers, body)."""
        parts = urlsplit(self.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname, parts.port, timeout=timeout)
        headers = {"Authorization": f"token {self.token}"} if token and self.token else {}
        try:
            conn.request(method, self.base_url + path.lstrip("/"), headers=headers)
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
