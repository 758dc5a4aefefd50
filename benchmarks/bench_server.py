"""The toolbar's server side under load, side by side with jupyter-resource-usage, same server.

One jupyter_server on 127.0.0.1 runs both extensions: ours (/colabmagic/api/resources) and the
peer's (/api/metrics/v1, the endpoint JupyterLab's memory indicator polls). jupyter-resource-usage
is installed for this run only (`pip install --target` into a temporary folder on PYTHONPATH).
Each load is 200 keep-alive connections polling back to back; meanwhile a probe asks Jupyter's own
/api/status every 50 ms, to show whether the server stays responsive.
Targets: our p99 <= 50 ms and no worse than the peer's; the built extension adds <= 100 KB of JS;
JupyterLab's start-up, to an opened notebook's toolbar, with it <= 1.05x without it installed
(measured in Chromium, same run, alternating).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from harness import Row, report

ROOT = Path(__file__).resolve().parent.parent
PEER = "jupyter-resource-usage==1.3.0"
CLIENTS = 200
ROUNDS = 10  # requests per connection: 2000 in all per endpoint and mode
BURST_ROUNDS = 5
POLL_EVERY = 1.0  # seconds between one poller's requests (the toolbar polls every 2 s by default)
CHROMIUM = os.environ.get("COLABMAGIC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_peer(folder: Path) -> Path:
    target = folder / "peer"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), PEER],
                   check=True)
    return target


def start_server(home: Path, *, app: str, extra_path: str | None, extensions: dict, name: str,
                 lab_config: dict | None = None):
    """A server with exactly `extensions` switched on or off (a config dir of its own);
    `lab_config`: LabApp settings for it."""
    config_dir = home / f"config-{name}"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = {"ServerApp": {"jpserver_extensions": extensions}}
    if lab_config:
        config["LabApp"] = lab_config
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    token = uuid.uuid4().hex
    port = free_port()
    env = {**os.environ, "COLABMAGIC_STATE_DIR": str(home / "state"), "JUPYTER_RUNTIME_DIR": str(home / "rt"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws")}
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + env.get("PYTHONPATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(config_dir)
    command = [sys.executable, "-m", app, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}", "--ServerApp.log_level=WARN"]
    if os.getuid() == 0:
        command.append("--allow-root")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=home)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(request, timeout=5).read()
            return process, url, token
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start")
            time.sleep(0.2)


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# ---------------------------------------------------------------- HTTP load


async def connection(port: int, path: str, token: str, rounds: int, latencies: list, errors: list,
                     every: float = 0.0):
    """`rounds` GETs on one keep-alive connection: back to back, or one every `every` seconds
    (a poller, first one at a random phase)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if every:
        await asyncio.sleep(random.uniform(0, every))
    due = time.perf_counter()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\n"
               "Connection: keep-alive\r\n\r\n").encode()
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(status)
            if every:
                due += every
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
    finally:
        writer.close()


async def probe(port: int, token: str, until: asyncio.Event, latencies: list):
    errors: list = []
    while not until.is_set():
        await connection(port, "/api/status", token, 1, latencies, errors)
        await asyncio.sleep(0.05)


async def load(port: int, path: str, token: str, every: float) -> tuple[list, list, list, float]:
    latencies: list = []
    errors: list = []
    probe_latencies: list = []
    done = asyncio.Event()
    prober = asyncio.create_task(probe(port, token, done, probe_latencies))
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    rounds = ROUNDS if every else BURST_ROUNDS
    await asyncio.gather(*(connection(port, path, token, rounds, latencies, errors, every)
                           for _ in range(CLIENTS)))
    wall = time.perf_counter() - start
    done.set()
    await prober
    return latencies, probe_latencies, errors, wall


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_load(home: Path, peer_path: Path) -> list[Row]:
    process, url, token = start_server(home, app="jupyter_server", extra_path=str(peer_path), name="load",
                                       extensions={"colabmagic.server": True, "jupyter_resource_usage": True})
    port = int(url.rsplit(":", 1)[1])
    try:
        # warm both (first NVML/psutil readings, imports)
        for path in ("/colabmagic/api/resources", "/api/metrics/v1"):
            asyncio.run(load_once(port, path, token))
        results = {}
        for mode, every in (("poll", POLL_EVERY), ("burst", 0.0)):
            for name, path in (("ours", "/colabmagic/api/resources"), ("peer", "/api/metrics/v1")):
                latencies, probes, errors, wall = asyncio.run(load(port, path, token, every))
                if errors:
                    raise RuntimeError(f"{path}: {len(errors)} non-200 answers, e.g. {errors[0]}")
                results[mode, name] = (latencies, probes, len(latencies) / wall)
        idle_probe: list = []
        asyncio.run(idle_probes(port, token, idle_probe))
    finally:
        stop(process)
    ms = 1000
    rows = []
    for mode, note in (("poll", f"{CLIENTS} pollers, one GET each per {POLL_EVERY:g} s"),
                       ("burst", f"{CLIENTS} connections back to back")):
        ours, peer = results[mode, "ours"], results[mode, "peer"]
        rows += [
            Row(f"{mode}: p50", percentile(ours[0], 0.5) * ms, percentile(peer[0], 0.5) * ms, "ms", note),
            Row(f"{mode}: p99", percentile(ours[0], 0.99) * ms, percentile(peer[0], 0.99) * ms, "ms",
                "target (poll): ours <= 50 ms and <= peer"),
            Row(f"{mode}: /api/status p99 meanwhile", percentile(ours[1], 0.99) * ms,
                percentile(peer[1], 0.99) * ms, "ms", f"idle server: {percentile(idle_probe, 0.99) * ms:.1f} ms"),
        ]
    rows.append(Row("burst: requests per second", results["burst", "ours"][2], results["burst", "peer"][2],
                    "/s", "higher is better"))
    return rows


async def load_once(port, path, token):
    await connection(port, path, token, 3, [], [])


async def idle_probes(port, token, out):
    for _ in range(20):
        await connection(port, "/api/status", token, 1, out, [])
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- size and start-up


def js_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.js"))


def bench_size(peer_path: Path) -> Row:
    ours = ROOT / "colabmagic" / "labextension" / "static"
    if not ours.exists():
        raise SystemExit("build the extension first: make lab")
    peer = next(peer_path.glob("**/labextensions/@jupyter-server/resource-usage/static"), None)
    if peer is None:  # --target puts shared data under <target>/share
        raise SystemExit("jupyter-resource-usage's labextension not found in its install")
    return Row("extension JS", js_bytes(ours) / 1000, js_bytes(peer) / 1000, "KB", "target: ours <= 100 KB")


def labextensions_folder(home: Path, name: str, without: str | None) -> Path:
    """A labextensions folder linking every installed JupyterLab extension except `without`.

    Disabling an extension (page_config's disabledExtensions) is no baseline: jupyterlab_server
    still lists it among the federated extensions (jupyterlab_server/config.py get_page_config)
    and JupyterLab still fetches and runs its bundle. Only an extension missing from LabApp's
    labextensions_path is truly absent. Both runs use such a folder, so they differ in colabmagic only.
    """
    from jupyter_core.paths import jupyter_path

    folder = home / f"labextensions-{name}"
    seen = set()
    for root in map(Path, jupyter_path("labextensions")):  # first path wins, as in jupyterlab_server
        for package in [*root.glob("[!@]*/package.json"), *root.glob("@*/*/package.json")]:
            relative = package.parent.relative_to(root)
            if relative.as_posix() in seen or relative.as_posix() == without:
                continue
            seen.add(relative.as_posix())
            link = folder / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(package.parent.resolve(), target_is_directory=True)
    return folder


def federated_extensions(url: str, token: str) -> set[str]:
    """The federated extensions the /lab page tells JupyterLab to load."""
    request = urllib.request.Request(f"{url}/lab", headers={"Authorization": f"token {token}"})
    page = urllib.request.urlopen(request, timeout=30).read().decode()
    start = page.index('id="jupyter-config-data"')
    start = page.index(">", start) + 1
    data = json.loads(page[start:page.index("</script>", start)])
    return {extension["name"] for extension in data["federated_extensions"]}


STARTUP_NOTEBOOK = "startup.ipynb"
NOTEBOOK_TOOLBAR = ".jp-NotebookPanel .jp-NotebookPanel-toolbar .jp-Notebook-toolbarCellType"


def lab_startup(home: Path, labextensions: Path, with_colabmagic: bool) -> float:
    """Seconds from opening a notebook's /lab/tree URL to its toolbar (with ours in it when
    colabmagic is there), in Chromium; median of 3 page loads."""
    from playwright.sync_api import sync_playwright

    name = labextensions.name
    process, url, token = start_server(home, app="jupyterlab", extra_path=None, name=name,
                                       extensions={"colabmagic.server": with_colabmagic},
                                       lab_config={"labextensions_path": [str(labextensions)]})
    ready = [NOTEBOOK_TOOLBAR] + ([".jp-NotebookPanel .cm-Toolbar"] if with_colabmagic else [])
    try:
        listed = federated_extensions(url, token)
        if ("colabmagic" in listed) != with_colabmagic:
            raise RuntimeError(f"{name}: the page lists {sorted(listed)}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            try:
                samples = []
                for _ in range(3):
                    page = browser.new_page()
                    fetched: list = []  # every extension file JupyterLab asked for, and its status
                    page.on("response", lambda r: fetched.append((r.url, r.status))
                            if "/lab/extensions/" in r.url else None)
                    start = time.perf_counter()
                    page.goto(f"{url}/lab/tree/{STARTUP_NOTEBOOK}?token={token}", wait_until="domcontentloaded")
                    for selector in ready:
                        page.wait_for_selector(selector, timeout=120_000)
                    samples.append(time.perf_counter() - start)
                    page.close()
                    ours = [u for u, _ in fetched if "/lab/extensions/colabmagic/" in u]
                    failed = [(u, status) for u, status in fetched if status >= 400]
                    if bool(ours) != with_colabmagic or failed:
                        raise RuntimeError(f"{name}: {len(ours)} files of colabmagic's bundle fetched; "
                                           f"failed: {failed[:3]}")
                return statistics.median(samples)
            finally:
                browser.close()
    finally:
        stop(process)


def bench_startup(home: Path) -> Row:
    (home / STARTUP_NOTEBOOK).write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    with_it = labextensions_folder(home, "on", without=None)
    without_it = labextensions_folder(home, "off", without="colabmagic")
    on, off = [], []
    for _ in range(2):  # alternate, so drift on a busy machine hits both alike
        off.append(lab_startup(home, without_it, with_colabmagic=False))
        on.append(lab_startup(home, with_it, with_colabmagic=True))
    return Row("JupyterLab start-up, to a notebook's toolbar", statistics.median(on), statistics.median(off), "s",
               "peer = same lab without colabmagic installed; target ratio <= 1.05")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        home = Path(tmp)
        peer_path = install_peer(home)
        rows = bench_load(home, peer_path)
        report("server under load: /colabmagic/api/resources vs jupyter-resource-usage /api/metrics/v1", rows)
        rows = [bench_size(peer_path)]
        if os.access(CHROMIUM, os.X_OK):
            rows.append(bench_startup(home))
        else:  # the start-up is timed to a notebook's toolbar, drawn by a real browser
            print(f"(skipping the start-up benchmark: no Chromium at {CHROMIUM}; apt-get install chromium)")
        report("extension size and start-up", rows)


if __name__ == "__main__":
    main()
