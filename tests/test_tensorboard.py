"""%tensorboard_inline and colabmagic/tensorboard.py against real TensorBoard processes on 127.0.0.1,
a real Jupyter server with jupyter-server-proxy, and event files written by a real %train run.

One TensorBoard instance (on the trained logdir) is shared by the module; tests that kill or fail
instances use their own logdirs. A fixture checks that no test leaves a TensorBoard process behind.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest
from IPython.core.error import UsageError

from conftest import run_ok

pytest.importorskip("tensorboard")
tb = pytest.importorskip("colabmagic.tensorboard")
from colabmagic.tensorboard import manager  # noqa: E402  (its private parts, for the fault-injecting tests)

RUN = "mlp-digits"


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    message = str(result.error_in_exec)
    assert "\n" not in message
    return message


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def tensorboard_processes() -> dict[int, str]:
    """Every TensorBoard process on this machine that colabmagic started, pid -> command line."""
    found = {}
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "-m colabmagic.tensorboard" in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found[process.info["pid"]] = cmdline
    return found


def ours(pids: dict[int, str], state: Path) -> set[int]:
    """The ones whose logdir lies in this module's temporary folder."""
    return {pid for pid, cmdline in pids.items() if str(state.parent) in cmdline}


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """State and Jupyter runtime folders of our own, and a %train run's event files in runs/."""
    root = tmp_path_factory.mktemp("tensorboard")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLABMAGIC_STATE_DIR", str(root / "state"))
        patch.setenv("JUPYTER_RUNTIME_DIR", str(root / "jupyter-runtime"))
        patch.delenv("TENSORBOARD_PROXY_URL", raising=False)
        patch.chdir(root)
        from colabmagic.train import train

        result = train("mlp", "digits", epochs=2, seed=0)
        yield {"root": root, "state": root / "state", "logdir": root / "runs", "result": result}
        tb.stop()
    left = ours(tensorboard_processes(), root / "state")
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"TensorBoard processes left behind: {left}"


@pytest.fixture(scope="module")
def shared(space):
    """The module's one TensorBoard, on the trained logdir."""
    outcome = tb.start(space["logdir"])
    assert isinstance(outcome, tb.StartLaunched), outcome
    yield outcome.instance


@pytest.fixture(autouse=True)
def no_leftover_tensorboard(space, request):
    before = ours(tensorboard_processes(), space["state"])
    yield
    keep = {i.pid for i in tb.instances() if i.logdir == str(space["logdir"].resolve())}
    left = ours(tensorboard_processes(), space["state"]) - before - keep
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{request.node.name} left TensorBoard running: {left}"


@pytest.fixture
def in_space(space, monkeypatch):
    monkeypatch.chdir(space["root"])
    return space


def wait_for(condition, seconds: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not true within {seconds} s: {condition}")


# --- the process manager ---------------------------------------------------------------------------

def test_instance_answers_data_endpoints_on_loopback_only(space, shared):
    assert re.fullmatch(r"/[0-9a-f]{32}", shared.prefix)
    status, _, body = get(shared.port, shared.prefix + "/data/logdir")
    assert status == 200
    assert json.loads(body)["logdir"] == str(space["logdir"].resolve())
    assert get(shared.port, "/data/logdir")[0] == 404  # without the secret prefix: nothing

    def runs():
        status, _, body = get(shared.port, shared.prefix + "/data/runs")
        return status == 200 and RUN in json.loads(body)

    wait_for(runs)
    listening = {c.laddr for c in psutil.Process(shared.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}
    assert listening and all(address.ip == "127.0.0.1" for address in listening)
    entry = json.loads((space["state"] / "colabmagic-tensorboard" / f"port-{shared.port}.json").read_text())
    assert entry["pid"] == shared.pid and entry["owner_pid"] == os.getpid()


def test_reuse_returns_the_same_instance(space, shared, monkeypatch):
    monkeypatch.chdir(space["logdir"])  # another spelling of the same folder
    outcome = tb.start(".")
    assert isinstance(outcome, tb.StartReused)
    assert (outcome.instance.pid, outcome.instance.port) == (shared.pid, shared.port)
    assert tb.start(space["logdir"], shared.port).instance.pid == shared.pid


def test_hung_or_killed_instances_are_detected_and_replaced(shell, space, capsys, monkeypatch):
    monkeypatch.setattr(manager, "ANSWER_TIMEOUT", 0.3)
    logdir = space["root"] / "killed"
    logdir.mkdir()
    hung = tb.start(logdir).instance
    os.kill(hung.pid, signal.SIGSTOP)  # alive, holding its port, answering nothing
    replaced = tb.start(logdir)
    assert isinstance(replaced, tb.StartLaunched) and replaced.instance.pid != hung.pid
    assert not psutil.pid_exists(hung.pid)  # stopped for good (and reaped), not left frozen

    first = replaced.instance
    # TensorBoard's own registry file: in a private temp folder (it records the secret prefix), not
    # the shared one other users and TensorBoard's own %tensorboard read
    info = space["state"] / "colabmagic-tensorboard" / "tmp" / ".tensorboard-info" / f"pid-{first.pid}.info"
    assert info.exists()
    assert not Path(tempfile.gettempdir(), ".tensorboard-info", f"pid-{first.pid}.info").exists()
    os.kill(first.pid, signal.SIGKILL)
    wait_for(lambda: not get_answers(first.port))

    second = tb.start(logdir)
    assert isinstance(second, tb.StartLaunched)
    assert second.instance.pid != first.pid
    assert tb.answers(second.instance.port, str(logdir.resolve()))
    assert not info.exists()
    assert [i.pid for i in tb.instances() if i.logdir == str(logdir.resolve())] == [second.instance.pid]

    kept = tb.start(logdir, keep=True)  # --keep on a reused instance: it now outlives this process
    assert isinstance(kept, tb.StartReused) and kept.instance.pid == second.instance.pid
    assert [i.owner_pid for i in tb.instances() if i.pid == second.instance.pid] == [None]

    run_ok(shell, f"%tensorboard_inline --stop {second.instance.port}")
    assert f"Stopped TensorBoard on port {second.instance.port}" in capsys.readouterr().out
    assert not tb.answers(second.instance.port, timeout=0.5)
    assert second.instance.port not in {i.port for i in tb.instances()}
    assert not psutil.pid_exists(second.instance.pid)  # reaped, not left a zombie


def get_answers(port: int) -> bool:
    return tb.answers(port, timeout=0.5)


def test_instance_ends_with_the_kernel_unless_kept(space):
    """A process that starts TensorBoard and is SIGKILLed takes it along; with keep=True it stays."""
    logdir = space["root"] / "owned"
    logdir.mkdir()
    script = ("import os, signal, sys\nfrom colabmagic import tensorboard as tb\n"
              "o = tb.start(sys.argv[1], keep=sys.argv[2] == 'keep')\n"
              "print(o.instance.pid, o.instance.port, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    starters = {}
    for mode in ("own", "keep"):  # both at once: each start takes seconds
        (logdir / mode).mkdir()
        starters[mode] = subprocess.Popen([sys.executable, "-c", script, str(logdir / mode), mode],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = {}
    for mode, starter in starters.items():
        out, err = starter.communicate(timeout=120)
        pids[mode] = [int(x) for x in out.split()] if out else pytest.fail(err)
    wait_for(lambda: not psutil.pid_exists(pids["own"][0]), seconds=10)
    assert tb.answers(pids["keep"][1])
    live = {i.pid: i for i in tb.instances()}
    assert pids["own"][0] not in live and live[pids["keep"][0]].owner_pid is None
    tb.stop(pids["keep"][1])
    assert not tb.answers(pids["keep"][1], timeout=0.5)


# --- the magic: bad input --------------------------------------------------------------------------

def test_port_in_use_is_one_usage_error(shell, in_space, shared, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_PROXY_URL", "/proxy/%PORT%/")  # a place that can frame it
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert "in use by another program" in usage_error(shell, f"%tensorboard_inline --port {port}")
    other = in_space["root"] / "other"
    other.mkdir(exist_ok=True)
    message = usage_error(shell, f"%tensorboard_inline --logdir {other} --port {shared.port}")
    assert f"port {shared.port} is in use by TensorBoard for {in_space['logdir'].resolve()}" in message
    assert f"--stop {shared.port}" in message


def test_missing_logdir_says_so_and_offers_to_wait(shell, workdir, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_PROXY_URL", "/proxy/%PORT%/")
    message = usage_error(shell, "%tensorboard_inline")
    assert "logdir runs does not exist" in message and "--wait" in message
    assert "does not exist" in usage_error(shell, "%tensorboard_inline --static --logdir nowhere")
    assert not (workdir / "runs").exists()


def test_without_the_tensorboard_package_names_the_pip_line(shell, in_space, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    message = usage_error(shell, "%tensorboard_inline --static")
    assert "pip install 'colabmagic[train]'" in message


def test_bad_numbers_are_one_usage_error(shell, in_space):
    assert "port" in usage_error(shell, "%tensorboard_inline --port 0")
    assert "seconds" in usage_error(shell, "%tensorboard_inline --static --watch -1")


def test_start_failure_shows_tensorboards_own_output(shell, in_space, monkeypatch, capsys):
    """TensorBoard itself refuses a port that our free-port check was told is free."""
    monkeypatch.setenv("TENSORBOARD_PROXY_URL", "/proxy/%PORT%/")
    monkeypatch.setattr(manager, "_port_free", lambda port: True)
    failed = in_space["root"] / "failed"
    failed.mkdir(exist_ok=True)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        message = usage_error(shell, f"%tensorboard_inline --logdir {failed} --port {port}")
    out = capsys.readouterr().out
    assert "Launching TensorBoard…" in out
    assert f"could not bind to port {port}, it was already in use" in out  # TensorBoard's words
    assert "TensorFlow installation not found" not in out                  # its chatter is trimmed
    assert message.startswith("TensorBoard failed to start (exited with code")
    assert not list((in_space["state"] / "colabmagic-tensorboard").glob(f"port-{port}.*"))


# --- the magic: frame, list, stop ------------------------------------------------------------------

def test_frame_reuses_and_goes_through_the_proxy_url(shell, in_space, shared, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_PROXY_URL", "/user/me/proxy/%PORT%/")
    view = run_ok(shell, "%tensorboard_inline --height 500 -o")
    assert view.reused and view.instance.pid == shared.pid
    page = view._repr_html_()
    assert f"src='/user/me/proxy/{shared.port}{shared.prefix}/'" in page and "height='500'" in page
    assert "localhost" not in page and "127.0.0.1" not in page


def test_list_and_stop(shell, in_space, shared, capsys):
    run_ok(shell, "%tensorboard_inline --list")
    out = capsys.readouterr().out
    assert re.search(rf"^{shared.port}\s+{re.escape(str(in_space['logdir'].resolve()))}\s+{shared.pid}\s", out, re.M)
    assert "uptime" in out and f"kernel {os.getpid()}" in out and f"http://127.0.0.1:{shared.port}/" in out
    free = manager._free_port()
    message = usage_error(shell, f"%tensorboard_inline --stop {free}")
    assert "no TensorBoard started by colabmagic runs on port" in message


# --- a real Jupyter server with jupyter-server-proxy -----------------------------------------------

# the server loads only jupyter-server-proxy (JupyterLab and the rest would add seconds to its start)
ONLY_THE_PROXY = [f"--ServerApp.jpserver_extensions={name}=False" for name in
                  ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "colabmagic.server")]


@pytest.fixture
def jupyter(space, tmp_path):
    pytest.importorskip("jupyter_server_proxy")
    port = manager._free_port()
    token = "s3cret-token"
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--ip=127.0.0.1", f"--port={port}", "--no-browser", "--allow-root",
         "--ServerApp.base_url=/jp/", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={space['root']}",
         "--ServerApp.port_retries=0", *ONLY_THE_PROXY],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        wait_for(lambda: _server_up(port, token) or server.poll() is not None, seconds=60)
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        yield {"port": port, "token": token, "headers": {"Authorization": f"token {token}"}}
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _server_up(port: int, token: str) -> bool:
    try:
        return get(port, "/jp/api/status", {"Authorization": f"token {token}"})[0] == 200
    except OSError:
        return False


def test_frame_through_a_real_jupyter_server_with_base_url(space, jupyter):
    """A kernel of a server with base_url /jp/ frames TensorBoard at /jp/proxy/<port>/, which the server
    serves with its token and redirects to its login page without; the kernel's exit ends the instance."""
    from jupyter_client import BlockingKernelClient

    status, _, body = get(jupyter["port"], "/jp/api/kernels", jupyter["headers"])
    assert status == 200
    conn = http.client.HTTPConnection("127.0.0.1", jupyter["port"], timeout=30)
    conn.request("POST", "/jp/api/kernels", body=json.dumps({"name": "python3"}),
                 headers={**jupyter["headers"], "Content-Type": "application/json"})
    kernel_id = json.loads(conn.getresponse().read())["id"]
    conn.close()
    connection_file = Path(os.environ["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"
    wait_for(connection_file.exists)
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        wait_until_ready(client)
        magic = f"%tensorboard_inline --logdir {space['root'] / 'served'} --wait"
        first = execute(client, f"%load_ext colabmagic\n{magic}")
        second = execute(client, magic)
    finally:
        client.stop_channels()

    assert "Launching TensorBoard…" in first["text"]
    src = re.search(r"<iframe src='([^']+)'", first["html"]).group(1)
    port, prefix = re.fullmatch(r"/jp/proxy/(\d+)(/[0-9a-f]{32})/", src).groups()
    port = int(port)
    assert "reused" in second["html"] and f"src='/jp/proxy/{port}{prefix}/'" in second["html"]
    assert "Launching" not in second["text"]

    status, _, body = get(jupyter["port"], f"/jp/proxy/{port}{prefix}/data/runs", jupyter["headers"])
    assert status == 200 and json.loads(body) == []
    status, _, page = get(jupyter["port"], src, jupyter["headers"])
    assert status == 200 and b"tensorboard" in page.lower()
    status, headers, _ = get(jupyter["port"], f"/jp/proxy/{port}{prefix}/data/runs")
    assert status == 302 and "/jp/login" in headers["Location"]

    server = tb.find_server(kernel_id)  # from outside the kernel: found by its kernel id
    assert server is not None and server.base_url == "/jp/" and server.proxy_path(port) + prefix[1:] + "/" == src
    assert "s3cret" not in repr(server)

    pid = next(i.pid for i in tb.instances() if i.port == port)
    conn = http.client.HTTPConnection("127.0.0.1", jupyter["port"], timeout=30)
    conn.request("DELETE", f"/jp/api/kernels/{kernel_id}", headers=jupyter["headers"])
    assert conn.getresponse().status == 204
    conn.close()
    wait_for(lambda: not psutil.pid_exists(pid), seconds=15)
    assert port not in {i.port for i in tb.instances()}


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


def execute(client, code: str) -> dict[str, str]:
    """Run code in the kernel; the text and HTML it displayed (updates included), failing on an error."""
    msg_id = client.execute(code)
    text, page = [], []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id and msg["msg_type"] != "update_display_data":
            continue
        content = msg["content"]
        if msg["msg_type"] in ("display_data", "update_display_data", "execute_result"):
            text.append(content["data"].get("text/plain", ""))
            page.append(content["data"].get("text/html", ""))
        elif msg["msg_type"] == "stream":
            text.append(content["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif msg["msg_type"] == "status" and content["execution_state"] == "idle":
            return {"text": "\n".join(text), "html": "\n".join(page)}


# --- static mode -----------------------------------------------------------------------------------

def test_static_draws_what_train_wrote(shell, in_space):
    board = run_ok(shell, "%tensorboard_inline --static -o")
    history = in_space["result"].history
    run = board.run(RUN)
    assert run.steps == [1, 2]
    assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr"} <= set(run.history[0])
    for read, written in zip(run.history, history, strict=True):
        assert read == pytest.approx({name: written[name] for name in read}, rel=1e-6)
    chart = run.chart()
    assert chart.series("loss")["train"] == pytest.approx([row["train_loss"] for row in history], rel=1e-6)
    assert chart.series("accuracy")["test"] == pytest.approx([row["test_accuracy"] for row in history], rel=1e-6)
    page = board._repr_html_()
    assert page.count("<polyline") >= 4 and RUN in page
    assert "lr " in page  # the values the chart does not draw are listed under it
    text = str(board)
    assert f"{history[-1]['train_loss']:.4f}" in text


def test_no_jupyter_server_means_static_without_starting_tensorboard(shell, in_space, capsys):
    before = {i.pid for i in tb.instances()}
    board = run_ok(shell, "%tensorboard_inline -o")
    assert isinstance(board, tb.ScalarBoard) and "No Jupyter server" in board.note
    assert {i.pid for i in tb.instances()} == before
    assert not board.watching  # a terminal cannot redraw in place
    assert RUN in capsys.readouterr().out


def test_a_new_call_stops_the_previous_refresh(shell, in_space, monkeypatch):
    """In a kernel (which can redraw in place) the static view refreshes; the next call ends that."""
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    magics = shell.magics_manager.registry["TensorBoardMagics"]
    board = run_ok(shell, "%tensorboard_inline --static --watch 0.05 -o")
    assert board.watching
    watcher = magics._watcher
    assert watcher is not None and watcher.running
    board = run_ok(shell, "%tensorboard_inline --static --watch 0 -o")
    assert not watcher.running and magics._watcher is None and not board.watching


def test_watcher_refreshes_while_a_run_writes_and_stops_when_it_stops(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path / "live"))
    writer.add_scalar("loss/train", 1.0, 1)
    writer.flush()
    reader = tb.ScalarReader(tmp_path)
    assert reader.read().run("live").history == [{"train_loss": 1.0}]
    boards, changed = [], threading.Event()

    def on_change(board):
        boards.append(board)
        changed.set()

    watcher = tb.ScalarWatcher(reader, 0.05, on_change, idle_stop=0.5).start()
    writer.add_scalar("loss/train", 0.5, 2)
    writer.flush()
    assert changed.wait(10)
    assert boards[-1].watching and [r["train_loss"] for r in boards[-1].run("live").history] == [1.0, 0.5]
    writer.close()
    wait_for(lambda: not watcher.running, seconds=10)
    assert not boards[-1].watching  # the last redraw drops the "refreshing" mark

    stopped = tb.ScalarWatcher(reader, 0.05, on_change, idle_stop=60).start()
    stopped.stop()
    assert not stopped.running


def test_metric_names_invert_the_writers_tags():
    from colabmagic.train.tensorboard_writer import tag

    for name in ("train_loss", "val_accuracy", "test_loss", "lr", "epoch_seconds"):
        assert tb.metric_name(tag(name)) == name
    assert tb.metric_name("Loss/train") == "train_loss"
    assert tb.metric_name("a/b/c") == "a/b/c"


def test_a_registry_entry_never_gets_another_file_deleted(in_space, tmp_path):
    """An entry of a dead instance whose "log" names the user's file: listing drops the entry and
    removes only the log colabmagic made for that port. Entries of the wrong shape are skipped."""
    victim = tmp_path / "thesis.tex"
    victim.write_text("months of work")
    registry = in_space["state"] / "colabmagic-tensorboard"
    registry.mkdir(parents=True, exist_ok=True)
    dead = {"port": 1, "pid": 2**22 + 12345, "logdir": "/nowhere", "started_at": 0.0, "create_time": 0.0,
            "owner_pid": None, "version": "", "log": str(victim)}
    (registry / "port-1.json").write_text(json.dumps(dead))
    (registry / "port-1.log").write_text("TensorBoard's own output")
    (registry / "port-2.json").write_text(json.dumps({**dead, "port": "2", "pid": "abc"}))
    assert [i.port for i in tb.instances()] == [i.port for i in tb.instances() if i.port not in (1, 2)]
    assert victim.read_text() == "months of work"
    assert not (registry / "port-1.json").exists() and not (registry / "port-1.log").exists()
    (registry / "port-2.json").unlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local user (nobody)")
def test_another_local_user_cannot_read_tensorboard(space, shared):
    """127.0.0.1 is every user's: as `nobody`, TensorBoard's port answers 404 without the secret
    prefix, and the prefix is in neither the process's command line nor a file `nobody` can read."""
    probe = ("import json, urllib.request, urllib.error, sys\n"
             "try:\n    urllib.request.urlopen(sys.argv[1], timeout=10); print(200)\n"
             "except urllib.error.HTTPError as err:\n    print(err.code)\n")

    def as_nobody(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command],
                              capture_output=True, text=True, timeout=30, cwd="/")

    for path in ("/data/logdir", "/", "/data/runs"):
        out = as_nobody("/usr/bin/python3", "-c", probe, f"http://127.0.0.1:{shared.port}{path}")
        assert out.stdout.strip() == "404", out
    secret = shared.prefix[1:]
    cmdline = Path(f"/proc/{shared.pid}/cmdline").read_bytes().decode()
    assert secret not in cmdline
    # where TensorBoard and we write: its shared info folder, the state and logs under the test's root
    # (not all of /tmp: on a CI machine it holds whole virtual environments, too slow to read as a check)
    places = [str(p) for p in (Path(tempfile.gettempdir()) / ".tensorboard-info", space["root"]) if p.exists()]
    readable = as_nobody("/usr/bin/grep", "-rlsF", "--devices=skip", secret, *places)
    assert readable.stdout.strip() == "", readable.stdout
    # the owner still reaches it, directly and through the registry's record
    assert tb.answers(shared.port, str(space["logdir"].resolve()))
