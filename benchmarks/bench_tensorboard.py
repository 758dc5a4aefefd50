"""`%tensorboard_inline` second call (reuse) against TensorBoard's own `%tensorboard` reuse, in one kernel.

Both run where a user runs them: a real ipykernel started by a real Jupyter server (token,
base_url, jupyter-server-proxy), their displays going over ZMQ to a client. Each magic is called
once to launch its instance, then timed on repeated calls that reuse it, alternating the two.
Ours checks that the instance really answers (an HTTP round trip to it) before reusing it; the
peer only reads its info files, and sends three outputs ("Launching…", its update, the frame) where
ours sends one. Two rows: the magic's own time inside the kernel, and the cell's round trip as the
client sees it (execute request to idle, the outputs received). Target: ratio <= 1.0.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Row, report

TOKEN = "bench-token"
CALLS = 61
# s between calls: each starts after the previous one's outputs went out (Jupyter's own server reads
# every output too), as a next cell does; back to back they would overlap
GAP = 0.05

SETUP = """
%load_ext colabmagic
%load_ext tensorboard
import os, time, statistics, json
os.makedirs({logdir!r}, exist_ok=True)
%tensorboard_inline --logdir {logdir}
%tensorboard --logdir {logdir}
from tensorboard import manager
assert any(i.logdir == {logdir!r} for i in manager.get_all()), "the peer did not start: nothing to reuse"
"""

TIMED = """
ip = get_ipython()
samples = {{"ours": [], "peer": []}}
for _ in range({calls}):
    for key, name in (("ours", "tensorboard_inline"), ("peer", "tensorboard")):
        time.sleep({gap})  # a quiet start, as a user's next cell has: the last call's outputs are sent
        t0 = time.perf_counter()
        ip.run_line_magic(name, "--logdir {logdir}")
        samples[key].append(time.perf_counter() - t0)
print("RESULT", json.dumps({{k: statistics.median(v) for k, v in samples.items()}}))
"""

TEARDOWN = """
%tensorboard_inline --stop
from tensorboard import manager
import signal
for info in manager.get_all():
    if info.logdir == {logdir!r}:
        os.kill(info.pid, signal.SIGTERM)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_ready(client, seconds: float = 90.0) -> None:
    """jupyter_client's wait_for_ready() gives up when the heartbeat has not beaten yet, which a kernel
    still importing on a busy machine can take: ask for kernel_info until shell and iopub both answer."""
    from queue import Empty

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        client.kernel_info()
        try:
            if client.get_shell_msg(timeout=2)["msg_type"] != "kernel_info_reply":
                continue
            client.get_iopub_msg(timeout=0.5)
        except Empty:
            continue
        while True:  # drain the status messages of these requests
            try:
                client.get_iopub_msg(timeout=0.2)
            except Empty:
                return
    raise RuntimeError(f"the kernel did not answer within {seconds} s")


def run(client, code: str) -> str:
    msg_id = client.execute(code)
    out = []
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


def main() -> None:
    from jupyter_client import BlockingKernelClient

    root = Path(tempfile.mkdtemp(prefix="bench-tensorboard-"))
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "COLABMAGIC_STATE_DIR": str(root / "state")}
    env.pop("TENSORBOARD_PROXY_URL", None)
    # %tensorboard runs the `tensorboard` script found on PATH: this interpreter's, as ours runs its module
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--ip=127.0.0.1", f"--port={port}", "--no-browser", "--allow-root",
         "--ServerApp.base_url=/jp/", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         *[f"--ServerApp.jpserver_extensions={name}=False" for name in  # only jupyter-server-proxy
           ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "colabmagic.server")]],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/jp/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Jupyter server did not start")
            time.sleep(0.2)
        kernel_id = json.loads(request(port, "POST", "/jp/api/kernels", {"name": "python3"})[1])["id"]
        connection = root / "runtime" / f"kernel-{kernel_id}.json"
        while not connection.exists():
            time.sleep(0.1)
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels()
        wait_until_ready(client)
        logdir = str(root / "runs")
        run(client, SETUP.format(logdir=logdir))
        out = run(client, TIMED.format(logdir=logdir, calls=CALLS, gap=GAP))
        result = json.loads(out.split("RESULT", 1)[1])
        trips = {"ours": [], "peer": []}  # what the user waits for: execute request -> idle, outputs received
        for _ in range(CALLS):
            for key, name in (("ours", "tensorboard_inline"), ("peer", "tensorboard")):
                time.sleep(GAP)
                t0 = time.perf_counter()
                run(client, f"%{name} --logdir {logdir}")
                trips[key].append(time.perf_counter() - t0)
        run(client, TEARDOWN.format(logdir=logdir))
        request(port, "DELETE", f"/jp/api/kernels/{kernel_id}")
    finally:
        if client is not None:
            client.stop_channels()
        server.terminate()
        server.wait(30)
    report("tensorboard", [
        Row("reuse, time in the kernel: %tensorboard_inline vs %tensorboard", result["ours"] * 1e3,
            result["peer"] * 1e3, note=f"median of {CALLS}; ours includes the /data/logdir liveness check"),
        Row("reuse, cell round trip seen by the client", statistics.median(trips["ours"]) * 1e3,
            statistics.median(trips["peer"]) * 1e3, note=f"median of {CALLS}; execute request to idle"),
    ])


if __name__ == "__main__":
    main()
