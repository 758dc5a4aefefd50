"""TensorBoard for notebooks: start, reuse, list and stop instances, find the Jupyter server that can
proxy them, and read event files for the inline (static) charts.

Like TensorBoard's own `manager.py` this never imports IPython, and expected cases are typed
outcomes (StartLaunched, StartReused, StartFailed, StartTimedOut), not exceptions. Differences that
matter in a notebook:
- an instance is reused only after it answered `/data/logdir` with the same logdir (TensorBoard's
  `%tensorboard` trusts its info files, so it happily "reuses" a killed instance);
- dead entries are removed from the registry as soon as they are seen (and TensorBoard's own info
  file of a killed instance with them);
- every instance binds 127.0.0.1: a browser reaches it through the Jupyter server's
  jupyter-server-proxy (`<base_url>proxy/<port>/`), which carries Jupyter's authentication;
- an instance ends when the kernel that started it exits (a watchdog thread in the TensorBoard
  process sees its parent change, even after a SIGKILL), unless it was started with keep=True.

The registry is one JSON file per instance in `state_dir()/colabmagic-tensorboard/`, written whole
or not at all (atomic_file.py): `port-<N>.json`, with TensorBoard's output next to it in `port-<N>.log`.

Which Jupyter server serves this kernel (`find_server`): the server whose pid is an ancestor of the
kernel process (jupyter_server starts kernels as its children), else the server whose
`/api/kernels/<id>` knows this kernel's id (from the kernel's connection file name). Servers are read
from the `jpserver-*.json` files in Jupyter's runtime dir (what `list_running_servers()` reads).
The proxy is available when that server answers TensorBoard's `/data/logdir` through
`<base_url>proxy/<port>/` (or asks for a login there). `$TENSORBOARD_PROXY_URL` (TensorBoard's own
setting; `%PORT%` is replaced) overrides all of this.
"""

from __future__ import annotations

import atexit
import html
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .atomic_file import write_atomically
from .errors import ConfigError, DataError, require

DEFAULT_LOGDIR = "runs"      # where %train writes (train/checkpoint.py's RUNS_ROOT)
HOST = "127.0.0.1"           # every instance binds loopback only; browsers come through Jupyter
START_TIMEOUT = 60.0         # s: a first TensorBoard start on a busy 2-core machine takes ~2-5 s
POLL_SECONDS = 0.05          # s between readiness probes while starting (TensorBoard's own: 0.5 s)
ANSWER_TIMEOUT = 2.0         # s for one /data/logdir probe of a running instance
STOP_TIMEOUT = 5.0           # s between SIGTERM and SIGKILL
WATCHDOG_SECONDS = 0.5       # s between the TensorBoard process's checks that its kernel is alive
OUTPUT_LINES = 20            # lines of TensorBoard's output shown when it fails to start
IDLE_STOP_SECONDS = 300.0    # s without new events after which a --watch refresh ends by itself
MAX_RUNS = 12                # runs drawn inline (the most recently written ones)
NOISE = ("TensorFlow installation not found", "NOTE: Using experimental fast data loading",
         "Serving TensorBoard on localhost", "Press CTRL+C to quit", "to expose to the network")


# --- the registry --------------------------------------------------------------------------------

def state_dir() -> Path:
    """$COLABMAGIC_STATE_DIR, else Jupyter's runtime dir (where the session state also lives)."""
    explicit = os.environ.get("COLABMAGIC_STATE_DIR")
    if explicit:
        return Path(explicit)
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return Path.home() / ".local" / "share" / "jupyter" / "runtime"
    return Path(jupyter_runtime_dir())


def registry_dir() -> Path:
    folder = state_dir() / "colabmagic-tensorboard"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


@dataclass
class Instance:
    """One TensorBoard process started by colabmagic."""

    port: int
    pid: int
    logdir: str                 # absolute, as TensorBoard reports it on /data/logdir
    started_at: float           # unix s
    create_time: float          # the process's start as psutil sees it: guards against pid reuse
    owner_pid: int | None       # the kernel it ends with; None = kept (--keep)
    version: str = ""
    log: str = ""               # TensorBoard's own output

    @property
    def local_url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def uptime(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.started_at)

    def to_dict(self) -> dict:
        return asdict(self)


def _entry(port: int) -> Path:
    return registry_dir() / f"port-{port}.json"


def _remember(instance: Instance) -> None:
    data = json.dumps(instance.to_dict(), indent=1).encode()
    write_atomically(_entry(instance.port), lambda file: file.write(data))


def _forget(instance: Instance) -> None:
    _entry(instance.port).unlink(missing_ok=True)
    if instance.log:
        Path(instance.log).unlink(missing_ok=True)
    # TensorBoard's own registry: a SIGKILLed instance leaves its info file, which %tensorboard reuses
    Path(tempfile.gettempdir(), ".tensorboard-info", f"pid-{instance.pid}.info").unlink(missing_ok=True)


def _registered() -> list[Instance]:
    found = []
    for path in sorted(registry_dir().glob("port-*.json")):
        try:
            found.append(Instance(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # not one of ours (files are written whole, so never a torn one)
    return found


_children: dict[int, subprocess.Popen] = {}  # pid -> the processes this one started (reaped here)


def _alive(instance: Instance) -> bool:
    """The process exists, is not a zombie and is the one registered (not a reused pid)."""
    child = _children.get(instance.pid)
    if child is not None and child.poll() is not None:
        return False
    import psutil

    try:
        process = psutil.Process(instance.pid)
        return (process.status() != psutil.STATUS_ZOMBIE
                and abs(process.create_time() - instance.create_time) < 1.0)
    except psutil.Error:
        return False


def instances() -> list[Instance]:
    """The live instances, newest first; entries of dead processes are removed on the way."""
    live = []
    for instance in _registered():
        if _alive(instance):
            live.append(instance)
        else:
            _forget(instance)
            _children.pop(instance.pid, None)
    return sorted(live, key=lambda i: i.started_at, reverse=True)


def answers(port: int, logdir: str | None = None, timeout: float | None = None) -> bool:
    """TensorBoard on 127.0.0.1:port answers /data/logdir (with this logdir when one is given)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=ANSWER_TIMEOUT if timeout is None else timeout)
    try:
        conn.request("GET", "/data/logdir")
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    if response.status != 200:
        return False
    try:
        reported = json.loads(body).get("logdir")
    except (ValueError, AttributeError):
        return False
    return logdir is None or reported == logdir


# --- start / reuse / stop ------------------------------------------------------------------------

@dataclass(frozen=True)
class StartLaunched:
    instance: Instance


@dataclass(frozen=True)
class StartReused:
    instance: Instance


@dataclass(frozen=True)
class StartFailed:
    """TensorBoard exited while starting (or could not be run): its own output, trimmed."""

    exit_code: int | None
    output: str

    def __str__(self) -> str:
        how = f"exited with code {self.exit_code}" if self.exit_code is not None else "could not be run"
        return f"TensorBoard failed to start ({how})" + (f":\n{self.output}" if self.output else "")

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


@dataclass(frozen=True)
class StartTimedOut:
    """TensorBoard did not answer within the timeout; it was stopped."""

    pid: int
    seconds: float
    output: str

    def __str__(self) -> str:
        text = f"TensorBoard (pid {self.pid}) did not answer within {self.seconds:g} s and was stopped"
        return text + (f":\n{self.output}" if self.output else "")

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def resolve_logdir(logdir: str | os.PathLike = DEFAULT_LOGDIR, *, wait: bool = False) -> str:
    """The absolute logdir; a missing one is an error unless the caller will wait for it."""
    path = os.path.realpath(os.path.expanduser(os.fspath(logdir)))
    if not wait and not os.path.isdir(path):
        what = "is not a folder" if os.path.exists(path) else "does not exist"
        hint = " (%train writes its runs there)" if os.fspath(logdir) == DEFAULT_LOGDIR else ""
        raise DataError(f"logdir {os.fspath(logdir)} {what}{hint}: train something first, "
                        f"or add --wait to start now and show runs as they appear")
    return path


def _check_port(port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start(logdir: str | os.PathLike = DEFAULT_LOGDIR, port: int | None = None, *, keep: bool = False,
          wait: bool = False, timeout: float = START_TIMEOUT,
          on_launch: Callable[[], None] | None = None):
    """Reuse the live instance for this logdir (and port, when one is given) or launch a new one.

    Returns StartReused, StartLaunched, StartFailed or StartTimedOut. Bad input raises a
    ColabMagicError: a missing logdir (unless wait), a port out of range or in use. `on_launch` is
    called just before a new process starts (the notebook shows "Launching TensorBoard…").
    """
    require("tensorboard", "train")
    _check_port(port)
    path = resolve_logdir(logdir, wait=wait)
    live = instances()
    for instance in live:
        if instance.logdir == path and port in (None, instance.port):
            # a second, patient probe before replacing it: a busy machine can make a healthy one slow
            if answers(instance.port, path) or answers(instance.port, path, timeout=3 * ANSWER_TIMEOUT):
                if not keep or instance.owner_pid is None:
                    return StartReused(instance)
                _adopt(instance)  # --keep on a reused instance: it now outlives its kernel
                return StartReused(instance)
            _terminate(instance)  # alive but not answering (hung): replace it
    if port is not None and not _port_free(port):
        holder = next((i for i in live if i.port == port and _alive(i)), None)
        if holder is not None:
            raise ConfigError(f"port {port} is in use by TensorBoard for {holder.logdir} (pid {holder.pid}): "
                              f"stop it with --stop {port}, or choose another --port")
        raise ConfigError(f"port {port} is in use by another program: choose another --port, "
                          f"or leave --port out to pick a free one")
    if on_launch is not None:
        on_launch()
    for _attempt in range(3 if port is None else 1):
        outcome = _launch(path, port or _free_port(), keep=keep, timeout=timeout)
        # a free port chosen here can be taken before TensorBoard binds it: try another one
        if not (port is None and isinstance(outcome, StartFailed) and "already in use" in outcome.output):
            break
    return outcome


def _launch(path: str, port: int, *, keep: bool, timeout: float):
    import psutil

    owner = None if keep else os.getpid()
    log = registry_dir() / f"port-{port}.log"
    command = [sys.executable, "-m", "colabmagic.tensorboard", "--owner", str(owner or 0), "--",
               "--logdir", path, "--host", HOST, "--port", str(port)]
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)  # the child imports this colabmagic
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    started_at = time.time()
    with open(log, "wb") as output:
        try:
            # its own session: a kernel interrupt (SIGINT to the kernel's process group) must not reach it
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as err:
            log.unlink(missing_ok=True)
            return StartFailed(None, str(err))
    _children[process.pid] = process
    try:
        create_time = psutil.Process(process.pid).create_time()
    except psutil.Error:
        create_time = started_at
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            _children.pop(process.pid, None)
            output_text = _trimmed(log)
            log.unlink(missing_ok=True)
            return StartFailed(code, output_text)
        if answers(port, path, timeout=1.0):
            from tensorboard.version import VERSION

            instance = Instance(port=port, pid=process.pid, logdir=path, started_at=started_at,
                                create_time=create_time, owner_pid=owner, version=VERSION, log=str(log))
            _remember(instance)
            if owner is not None:
                _stop_at_exit()
            return StartLaunched(instance)
        time.sleep(POLL_SECONDS)
    output_text = _trimmed(log)
    _terminate(Instance(port, process.pid, path, started_at, create_time, owner, log=str(log)))
    return StartTimedOut(process.pid, timeout, output_text)


def _trimmed(log: Path) -> str:
    """TensorBoard's output without its start-up chatter: the last lines, each at most 300 characters."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    lines = [line.rstrip()[:300] for line in text.splitlines()
             if line.strip() and not any(noise in line for noise in NOISE)]
    cut = lines[-OUTPUT_LINES:]
    return "\n".join((["…"] if len(lines) > len(cut) else []) + cut)


def _adopt(instance: Instance) -> None:
    """Keep an instance past its kernel: its watchdog follows the registry's owner_pid (None = kept)."""
    instance.owner_pid = None
    _remember(instance)


def _terminate(instance: Instance) -> None:
    """SIGTERM the instance's process group (TensorBoard and its data server), SIGKILL if it lingers."""
    import psutil

    def signal_group(signum: int) -> None:
        try:
            if hasattr(os, "killpg") and os.getpgid(instance.pid) == instance.pid:  # its own session
                os.killpg(instance.pid, signum)
                if signum != signal.SIGKILL:
                    os.killpg(instance.pid, signal.SIGCONT)  # a stopped (SIGSTOP) one must run to exit
            else:
                os.kill(instance.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    if _alive(instance):
        signal_group(signal.SIGTERM)
        child = _children.get(instance.pid)
        try:
            if child is not None:
                child.wait(STOP_TIMEOUT)
            else:
                psutil.Process(instance.pid).wait(STOP_TIMEOUT)
        except (subprocess.TimeoutExpired, psutil.TimeoutExpired):
            signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))
            if child is not None:
                child.wait()
        except psutil.Error:
            pass
    _children.pop(instance.pid, None)
    _forget(instance)


def stop(port: int | None = None) -> list[Instance]:
    """Stop the instance on `port`, or all of them; return what was stopped."""
    live = instances()
    chosen = [i for i in live if port is None or i.port == port]
    if port is not None and not chosen:
        raise ConfigError(f"no TensorBoard started by colabmagic runs on port {port} "
                          f"(%tensorboard_inline --list shows them)")
    for instance in chosen:
        _terminate(instance)
    return chosen


_exit_hook = False


def _stop_at_exit() -> None:
    """On a normal kernel exit stop its instances at once (the watchdog covers a killed kernel)."""
    global _exit_hook
    if not _exit_hook:
        atexit.register(_stop_owned)
        _exit_hook = True


def _stop_owned() -> None:
    for instance in _registered():
        if instance.owner_pid == os.getpid():
            _terminate(instance)


# --- the Jupyter server that can show it ---------------------------------------------------------

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


# --- what a notebook shows -----------------------------------------------------------------------

def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class TensorBoardFrame:
    """TensorBoard itself in an iframe served through the Jupyter server."""

    instance: Instance
    src: str
    height: int = 800
    reused: bool = False

    def headline(self) -> str:
        how = (f"reused (pid {self.instance.pid}, up {_duration(self.instance.uptime())})" if self.reused
               else f"started (pid {self.instance.pid})")
        return f"TensorBoard on port {self.instance.port} for {self.instance.logdir}: {how}"

    def _repr_html_(self) -> str:
        return (f"<div style='font:12px sans-serif;opacity:.75'>{html.escape(self.headline())} · "
                f"<a href='{html.escape(self.src, quote=True)}' target='_blank'>open in a tab</a></div>"
                f"<iframe src='{html.escape(self.src, quote=True)}' width='100%' height='{int(self.height)}' "
                f"frameborder='0' style='border:1px solid rgba(128,128,128,.3)'></iframe>")

    def __str__(self) -> str:
        return f"{self.headline()}\n{self.src}"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


@dataclass
class InstanceList:
    """`--list`: the live instances, with the URL a browser uses for each."""

    instances: list[Instance]
    urls: dict[int, str] = field(default_factory=dict)  # port -> URL
    now: float = field(default_factory=time.time)

    def rows(self) -> list[list[str]]:
        return [[str(i.port), i.logdir, str(i.pid), _duration(i.uptime(self.now)),
                 "kept" if i.owner_pid is None else f"kernel {i.owner_pid}",
                 self.urls.get(i.port, i.local_url)] for i in self.instances]

    HEADER = ["port", "logdir", "pid", "uptime", "ends with", "URL"]

    def __str__(self) -> str:
        if not self.instances:
            return "No TensorBoard started by colabmagic is running."
        table = [self.HEADER] + self.rows()
        widths = [max(len(row[c]) for row in table) for c in range(len(self.HEADER))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        if not self.instances:
            return f"<p>{html.escape(str(self))}</p>"
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in self.HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row[:-1])
                       + f"<td><a href='{html.escape(row[-1], quote=True)}' target='_blank'>"
                         f"{html.escape(row[-1])}</a></td></tr>" for row in self.rows())
        return f"<table><tr>{head}</tr>{body}</table>"


@dataclass
class Stopped:
    """`--stop`: what was stopped."""

    instances: list[Instance]

    def __str__(self) -> str:
        if not self.instances:
            return "No TensorBoard started by colabmagic was running."
        return "\n".join(f"Stopped TensorBoard on port {i.port} (pid {i.pid}, {i.logdir})" for i in self.instances)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


# --- event files: the static view ----------------------------------------------------------------

def metric_name(tag: str) -> str:
    """The inverse of train/tensorboard_writer.tag(): "loss/train" -> "train_loss", "lr" -> "lr"."""
    from .train.tensorboard_writer import TAGS

    for name, written in TAGS.items():
        if written == tag:
            return name
    measure, slash, split = tag.partition("/")
    if slash and "/" not in split:
        return f"{split.lower()}_{measure.lower()}"  # also "Loss/train" as the PyTorch tutorial writes it
    return tag


@dataclass
class ScalarRun:
    """One run's scalars as %train's history: one row per step, metric names as %train uses them."""

    name: str
    steps: list[int]
    history: list[dict[str, float]]
    last_write: float = 0.0     # wall time of its newest event

    def chart(self):
        from .train.chart import TrainingChart

        return TrainingChart(history=self.history, title=self.name)

    def extra(self) -> dict[str, float]:
        """The newest value of each metric the chart does not draw (lr, epoch time, custom tags)."""
        drawn = ("_loss", "_accuracy")
        last: dict[str, float] = {}
        for row in self.history:
            last.update({k: v for k, v in row.items() if not k.endswith(drawn)})
        return last


@dataclass
class ScalarBoard:
    """The scalar curves of a logdir drawn inline with %train's chart (no TensorBoard process)."""

    logdir: str
    runs: list[ScalarRun]
    hidden: int = 0             # older runs not drawn (MAX_RUNS)
    read_at: float = field(default_factory=time.time)
    note: str = ""              # why this view was chosen, shown above the charts
    watching: bool = False

    def run(self, name: str) -> ScalarRun:
        return next(r for r in self.runs if r.name == name)

    def headline(self) -> str:
        count = f"{len(self.runs)} run{'s' * (len(self.runs) != 1)}"
        more = f" (+{self.hidden} older not shown)" if self.hidden else ""
        clock = time.strftime("%H:%M:%S", time.localtime(self.read_at))
        live = ", refreshing while runs write" if self.watching else ""
        return f"TensorBoard scalars in {self.logdir}: {count}{more}, read {clock}{live}"

    def _repr_html_(self) -> str:
        parts = [f"<div style='font:12px sans-serif;opacity:.75'>{html.escape(self.note)}</div>" if self.note else "",
                 f"<div style='font:12px sans-serif;margin-bottom:4px'>{html.escape(self.headline())}</div>"]
        if not self.runs:
            parts.append("<div>No scalars yet.</div>")
        for run in self.runs:
            parts.append(run.chart()._repr_html_())
            extra = run.extra()
            if extra:
                cells = " · ".join(f"{html.escape(k)} {v:.4g}" for k, v in extra.items())
                parts.append(f"<div style='font:11px sans-serif;opacity:.75;margin:2px 0 10px'>{cells}</div>")
        return "<div>" + "".join(parts) + "</div>"

    def __str__(self) -> str:
        lines = [self.note] if self.note else []
        lines.append(self.headline())
        lines += [str(run.chart()) for run in self.runs] or ["No scalars yet."]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


class ScalarReader:
    """Reads a logdir's scalars with TensorBoard's own reader (EventMultiplexer), incrementally:
    each read() loads only the events written since the last one, and picks up new runs."""

    def __init__(self, logdir: str | os.PathLike = DEFAULT_LOGDIR, *, wait: bool = False) -> None:
        require("tensorboard", "train")
        from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

        self.logdir = resolve_logdir(logdir, wait=wait)
        self.shown = os.fspath(logdir)
        # scalars=0 keeps every event (the default samples 10,000 per tag)
        self._mux = EventMultiplexer(size_guidance={"scalars": 0}, purge_orphaned_data=True)
        self._signature: tuple = ()

    def read(self) -> ScalarBoard:
        if os.path.isdir(self.logdir):
            self._mux.AddRunsFromDirectory(self.logdir)
            self._mux.Reload()
        runs = []
        for name, tags in self._mux.Runs().items():
            scalars = {tag: self._mux.Scalars(name, tag) for tag in tags.get("scalars", [])}
            if scalars:
                runs.append(_as_run(name, scalars))
        runs.sort(key=lambda r: r.last_write, reverse=True)
        shown = sorted(runs[:MAX_RUNS], key=lambda r: r.name)
        self._signature = tuple((r.name, len(r.steps), r.last_write) for r in runs)
        return ScalarBoard(self.shown, shown, hidden=len(runs) - len(shown))

    @property
    def signature(self) -> tuple:
        """Changes whenever a read found new events or runs."""
        return self._signature


def _as_run(name: str, scalars: dict[str, list]) -> ScalarRun:
    rows: dict[int, dict[str, float]] = {}
    last_write = 0.0
    for tag, events in scalars.items():
        metric = metric_name(tag)
        for event in events:  # in file order: a step written twice keeps its newest value
            rows.setdefault(event.step, {})[metric] = float(event.value)
            last_write = max(last_write, event.wall_time)
    steps = sorted(rows)
    return ScalarRun(name=name, steps=steps, history=[rows[s] for s in steps], last_write=last_write)


def read_scalars(logdir: str | os.PathLike = DEFAULT_LOGDIR) -> ScalarBoard:
    return ScalarReader(logdir).read()


class ScalarWatcher:
    """Re-reads a logdir every `every` seconds on a daemon thread and calls on_change(board) when
    something new was written; it ends by itself after `idle_stop` seconds without news."""

    def __init__(self, reader: ScalarReader, every: float, on_change: Callable[[ScalarBoard], None], *,
                 idle_stop: float | None = None, on_error: Callable[[BaseException], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.reader, self.every, self.on_change, self.on_error = reader, every, on_change, on_error
        self.idle_stop = idle_stop if idle_stop is not None else max(IDLE_STOP_SECONDS, 10 * every)
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="colabmagic-tensorboard-watch", daemon=True)

    def start(self) -> "ScalarWatcher":
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        seen, news_at = self.reader.signature, self.clock()
        while not self._stop.wait(self.every):
            try:
                board = self.reader.read()
            except Exception as err:  # shown where the user looks (the output), not lost on a thread
                if self.on_error is not None:
                    self.on_error(err)
                return
            if self.reader.signature != seen:
                seen, news_at = self.reader.signature, self.clock()
                board.watching = True
                self.on_change(board)
            elif self.clock() - news_at >= self.idle_stop:
                board.watching = False
                self.on_change(board)  # drop the "refreshing" mark: the runs stopped writing
                return


# --- the TensorBoard process: `python -m colabmagic.tensorboard --owner PID -- ARGS` ----------------

def _follow_owner(owner: int) -> None:
    """End this TensorBoard when the kernel that started it is gone (its parent changes), unless the
    registry says it was kept since. SIGTERM runs TensorBoard's own exit path (it removes its info file)."""
    while os.getppid() == owner:
        time.sleep(WATCHDOG_SECONDS)
    port = sys.argv[sys.argv.index("--port") + 1] if "--port" in sys.argv else None
    try:
        if port and json.loads(_entry(int(port)).read_text()).get("owner_pid") is None:
            return  # adopted with --keep after it started
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def _serve(argv: list[str]) -> None:
    owner = int(argv[argv.index("--owner") + 1]) if "--owner" in argv else 0
    arguments = argv[argv.index("--") + 1:] if "--" in argv else []
    sys.argv = ["tensorboard", *arguments]
    if owner:
        threading.Thread(target=_follow_owner, args=(owner,), name="follow-kernel", daemon=True).start()
    from tensorboard.main import run_main

    run_main()


if __name__ == "__main__":
    _serve(sys.argv[1:])
