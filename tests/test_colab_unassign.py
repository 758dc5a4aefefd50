"""`google.colab.runtime.unassign()` in a kernel of a real `jupyter server` process: the server ends it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("jupyter_server")
CHECKOUT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, token: str, method: str, path: str) -> tuple[int, dict | None]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{path}", method=method,
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as err:
        return err.code, None


def wait_for(probe, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path):
    """`jupyter server` on 127.0.0.1 with its own runtime folder; stopped after."""
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "COLABMAGIC_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
         "--ServerApp.port_retries=0", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: list((tmp_path / "runtime").glob("jpserver-*.json")), 120)
        yield port, token, tmp_path / "runtime"
    finally:
        process.terminate()
        process.wait(60)


def test_unassign_ends_the_kernel_through_its_server(server):
    from jupyter_client import BlockingKernelClient

    port, token, runtime = server
    status, kernel = call(port, token, "POST", "api/kernels")
    assert status == 201
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        # no reply is awaited: the server's shutdown request may end the kernel before the cell does
        client.execute("from colabmagic.colab import runtime\nruntime.unassign()")
        wait_for(lambda: call(port, token, "GET", f"api/kernels/{kernel['id']}")[0] == 404, 120)
    finally:
        client.stop_channels()
