"""TensorBoard processes: start, reuse, list and stop them, and the registry that remembers them.

Like TensorBoard's own `manager.py` this never imports IPython, and expected cases are typed
outcomes (StartLaunched, StartReused, StartFailed, StartTimedOut), not exceptions. Differences that
matter in a notebook:
- an instance is reused only after it answered `/data/logdir` with the same logdir (TensorBoard's
  `%tensorboard` trusts its info files, so it happily "reuses" a killed instance); one that is alive
  but answers nothing (hung) is stopped and replaced;
- dead entries are removed from the registry as soon as they are seen (and TensorBoard's own info
  file of a killed instance with them);
- every instance binds 127.0.0.1: a browser reaches it through the Jupyter server (proxy.py);
- an instance ends when the kernel that started it exits (a watchdog thread in the TensorBoard
  process sees its parent change, even after a SIGKILL), unless it was started with keep=True.

The registry is one JSON file per instance in `state_dir()/colabmagic-tensorboard/`, written whole
or not at all (files.py): `port-<N>.json`, with TensorBoard's output next to it in `port-<N>.log`.
The TensorBoard process is `python -m colabmagic.tensorboard --owner PID -- ARGS` (`serve` below).
"""

from __future__ import annotations

import atexit
import json
import math
import secrets
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..files import NewerRecord, decode_record, encode_record, read_small_file, record_fields, state_dir, write_atomically
from ..errors import ConfigError, DataError, require
from ..locale import tr
from ..processes import ProcessIdentity, end, same_start
from ..processes import started_at as process_started_at

DEFAULT_LOGDIR = "runs"      # where %train writes (train/checkpoint.py's RUNS_ROOT)
HOST = "127.0.0.1"           # every instance binds loopback only; browsers come through Jupyter
START_TIMEOUT = 60.0         # s: a first TensorBoard start on a busy 2-core machine takes ~2-5 s
POLL_SECONDS = 0.05          # s between readiness probes while starting (TensorBoard's own: 0.5 s)
ANSWER_TIMEOUT = 2.0         # s for one /data/logdir probe of a running instance
STOP_TIMEOUT = 5.0           # s between SIGTERM and SIGKILL
WATCHDOG_SECONDS = 0.5       # s between the TensorBoard process's checks that its kernel is alive
PREFIX_ENV = "COLABMAGIC_TENSORBOARD_PREFIX"  # how the secret path prefix reaches the TensorBoard process
OUTPUT_LINES = 20            # lines of TensorBoard's output shown when it fails to start
NOISE = ("TensorFlow installation not found", "NOTE: Using experimental fast data loading",
         "Serving TensorBoard on localhost", "Press CTRL+C to quit", "to expose to the network")


# --- the registry ---------------------------------------------------------------------------------

_made: set[Path] = set()  # folders created by this process (a reuse call should not pay a mkdir)


def registry_dir() -> Path:
    folder = state_dir() / "colabmagic-tensorboard"
    if folder not in _made or not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder.stat().st_mode & 0o077:
            folder.chmod(0o700)  # it holds each instance's secret path prefix
        _made.add(folder)
    return folder


@dataclass
class Instance:
    """One TensorBoard process started by colabmagic."""

    port: int
    pid: int
    logdir: str                 # absolute, as TensorBoard reports it on /data/logdir
    started_at: float           # unix s
    create_time: float          # the process's start (processes.started_at): guards against pid reuse
    owner_pid: int | None       # the kernel it ends with; None = kept (--keep)
    version: str = ""
    log: str = ""               # TensorBoard's own output
    prefix: str = ""            # its secret --path_prefix ("/<32 hex>"): see _launch

    @property
    def local_url(self) -> str:
        return f"http://{HOST}:{self.port}{self.prefix}/"

    def uptime(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.started_at)

    def to_dict(self) -> dict:
        return asdict(self)


def _private_temp() -> Path:
    folder = registry_dir() / "tmp"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _entry(port: int) -> Path:
    return registry_dir() / f"port-{port}.json"


REGISTRY_RECORD = "colabmagic-tensorboard"
REGISTRY_VERSION = 1  # Instance's fields; a newer minor version may add some (ignored here)


def _remember(instance: Instance) -> None:
    data = encode_record(REGISTRY_RECORD, REGISTRY_VERSION, instance.to_dict())
    write_atomically(_entry(instance.port), lambda file: file.write(data), mode=0o600)


def _log(port: int) -> Path:
    return registry_dir() / f"port-{port}.log"


def _forget(instance: Instance) -> None:
    _entry(instance.port).unlink(missing_ok=True)
    # the log we made for that port, never what the entry's "log" names: an entry is a file anyone
    # with the folder could have edited, and nothing deletes a path it did not create
    _log(instance.port).unlink(missing_ok=True)
    # TensorBoard's own registry: a SIGKILLed instance leaves its info file (in its private temp folder;
    # older versions of this module let it write to the shared one)
    for temp in (_private_temp(), Path(tempfile.gettempdir())):
        (temp / ".tensorboard-info" / f"pid-{instance.pid}.info").unlink(missing_ok=True)


def _registered() -> list[Instance]:
    found = []
    for path in sorted(registry_dir().glob("port-*.json")):
        try:
            values = decode_record(REGISTRY_RECORD, REGISTRY_VERSION, read_small_file(path))
            instance = Instance(**record_fields(Instance, values or {}))
        except (TypeError, NewerRecord):
            continue  # not one of ours, or a newer colabmagic's (files are written whole: never torn)
        if _well_typed(instance) and path.name == f"port-{instance.port}.json":
            found.append(instance)
    return found


def _well_typed(instance: Instance) -> bool:
    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    return (whole(instance.port) and instance.port < 65536 and whole(instance.pid)
            and (instance.owner_pid is None or whole(instance.owner_pid))
            and all(isinstance(v, str) for v in (instance.logdir, instance.log, instance.version, instance.prefix))
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in (instance.started_at, instance.create_time)))



_children: dict[int, subprocess.Popen] = {}  # pid -> the processes this one started (reaped here)


def _alive(instance: Instance) -> bool:
    """The process exists, is not a zombie and is the one registered (not a reused pid)."""
    child = _children.get(instance.pid)
    if child is not None:  # our own child: its pid cannot be reused before we reap it
        return child.poll() is None
    return same_start(instance.pid, instance.create_time)  # a zombie counts as gone


def instances(registered: list[Instance] | None = None) -> list[Instance]:
    """The live instances, newest first; entries of dead processes are removed on the way."""
    live = []
    for instance in _registered() if registered is None else registered:
        if _alive(instance):
            live.append(instance)
        else:
            _forget(instance)
            _children.pop(instance.pid, None)
    return sorted(live, key=lambda i: i.started_at, reverse=True)


class Probe:
    """One `GET PREFIX/data/logdir` to TensorBoard on 127.0.0.1:port: sent when made, read by answered().

    Sending first lets TensorBoard work on it while the caller does its own bookkeeping. A plain
    socket, read up to the Content-Length: TensorBoard's server (werkzeug) closes the connection
    ~10 ms after its response, and http.client's parsing would add its own share to every reuse.
    """

    def __init__(self, port: int, timeout: float | None = None, prefix: str = "") -> None:
        self.port = port
        self.deadline = time.monotonic() + (ANSWER_TIMEOUT if timeout is None else timeout)
        self.conn: socket.socket | None = None
        try:
            self.conn = socket.create_connection((HOST, port), timeout=self.deadline - time.monotonic())
            self.conn.sendall(f"GET {prefix}/data/logdir HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                              .encode())
        except OSError:  # refused or timed out: nothing listens there
            self.close()

    def answered(self, logdir: str | None = None) -> bool:
        """It answered 200 with JSON naming this logdir (any logdir when None)."""
        if self.conn is None:
            return False
        received, length = b"", None
        try:
            while length is None or len(received) < length:
                self.conn.settimeout(max(self.deadline - time.monotonic(), 0.001))
                chunk = self.conn.recv(65536)
                if not chunk:
                    break
                received += chunk
                if length is None and b"\r\n\r\n" in received:
                    head = received.partition(b"\r\n\r\n")[0].lower()
                    found = [line.split(b":", 1)[1] for line in head.split(b"\r\n")
                             if line.startswith(b"content-length:")]
                    length = len(head) + 4 + int(found[0]) if found else float("inf")  # inf: to the close
        except (OSError, ValueError):  # reset, timed out or garbled: not answering
            return False
        finally:
            self.close()
        head, _, body = received.partition(b"\r\n\r\n")
        if head.split(b" ", 2)[1:2] != [b"200"]:
            return False
        try:
            reported = json.loads(body).get("logdir")
        except (ValueError, AttributeError):
            return False
        return logdir is None or reported == logdir

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def answers(port: int, logdir: str | None = None, timeout: float | None = None, prefix: str | None = None) -> bool:
    """TensorBoard on 127.0.0.1:port answers /data/logdir (with this logdir when one is given) under
    PREFIX (by default the one registered for that port)."""
    if prefix is None:
        prefix = next((i.prefix for i in _registered() if i.port == port), "")
    return Probe(port, timeout, prefix).answered(logdir)


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
        if self.exit_code is None:
            text = tr("TensorBoard failed to start (could not be run)")
        else:
            text = tr("TensorBoard failed to start (exited with code {code})").format(code=self.exit_code)
        return text + (f":\n{self.output}" if self.output else "")

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


@dataclass(frozen=True)
class StartTimedOut:
    """TensorBoard did not answer within the timeout; it was stopped."""

    pid: int
    seconds: float
    output: str

    def __str__(self) -> str:
        text = tr("TensorBoard (pid {pid}) did not answer within {seconds} s and was stopped").format(
            pid=self.pid, seconds=f"{self.seconds:g}")
        return text + (f":\n{self.output}" if self.output else "")

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def resolve_logdir(logdir: str | os.PathLike = DEFAULT_LOGDIR, *, wait: bool = False) -> str:
    """The absolute logdir; a missing one is an error unless the caller will wait for it."""
    path = os.path.realpath(os.path.expanduser(os.fspath(logdir)))
    if not wait and not os.path.isdir(path):
        if os.path.exists(path):
            message = tr("logdir {logdir} is not a folder{hint}: train something first, or add --wait to start now "
                         "and show runs as they appear")
        else:
            message = tr("logdir {logdir} does not exist{hint}: train something first, or add --wait to start now "
                         "and show runs as they appear")
        hint = tr(" (%train writes its runs there)") if os.fspath(logdir) == DEFAULT_LOGDIR else ""
        raise DataError(message.format(logdir=os.fspath(logdir), hint=hint))
    return path


def _check_port(port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(tr("--port must be between 1 and 65535, got {port}").format(port=port))


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
    registered = _registered()
    matching = [i for i in registered if i.logdir == path and port in (None, i.port)]
    # ask the newest match now: TensorBoard answers while the liveness bookkeeping below runs
    newest = max(matching, key=lambda i: i.started_at) if matching else None
    probe = Probe(newest.port, prefix=newest.prefix) if newest else None
    live = instances(registered)
    for instance in live:
        if instance.logdir == path and port in (None, instance.port):
            first = probe if probe is not None and probe.port == instance.port else Probe(instance.port,
                                                                                          prefix=instance.prefix)
            probe = None
            # a second, patient probe before replacing it: a busy machine can make a healthy one slow
            if first.answered(path) or answers(instance.port, path, 3 * ANSWER_TIMEOUT, instance.prefix):
                if not keep or instance.owner_pid is None:
                    return StartReused(instance)
                _adopt(instance)  # --keep on a reused instance: it now outlives its kernel
                return StartReused(instance)
            _terminate(instance)  # alive but not answering (hung): replace it
    if probe is not None:  # its instance was dead
        probe.close()
    if port is not None and not _port_free(port):
        holder = next((i for i in live if i.port == port and _alive(i)), None)
        if holder is not None:
            raise ConfigError(tr("port {port} is in use by TensorBoard for {logdir} (pid {pid}): stop it with --stop "
                                 "{port}, or choose another --port").format(port=port, logdir=holder.logdir,
                                                                            pid=holder.pid))
        raise ConfigError(tr("port {port} is in use by another program: choose another --port, or leave --port out "
                             "to pick a free one").format(port=port))
    if on_launch is not None:
        on_launch()
    for _attempt in range(3 if port is None else 1):
        outcome = _launch(path, port or _free_port(), keep=keep, timeout=timeout)
        # a free port chosen here can be taken before TensorBoard binds it: try another one
        if not (port is None and isinstance(outcome, StartFailed) and "already in use" in outcome.output):
            break
    return outcome


def _launch(path: str, port: int, *, keep: bool, timeout: float):

    owner = None if keep else os.getpid()
    log = _log(port)
    command = [sys.executable, "-m", "colabmagic.tensorboard", "--owner", str(owner or 0), "--",
               "--logdir", path, "--host", HOST, "--port", str(port)]
    # 127.0.0.1 is shared by every user of the machine: TensorBoard answers only under a secret path
    # prefix, which travels in the environment (other users can read a command line, not that) and
    # is kept in this user's 0700 registry. TensorBoard's own info file, which records it, goes to a
    # private temp folder (its shared one is world-readable).
    prefix = "/" + secrets.token_hex(16)
    env = {**os.environ, PREFIX_ENV: prefix, "TMPDIR": str(_private_temp())}
    package_root = str(Path(__file__).resolve().parents[2])  # the child imports this colabmagic
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
    create_time = process_started_at(process.pid) or started_at
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            _children.pop(process.pid, None)
            output_text = _trimmed(log)
            log.unlink(missing_ok=True)
            return StartFailed(code, output_text)
        if answers(port, path, 1.0, prefix):
            from tensorboard.version import VERSION

            instance = Instance(port=port, pid=process.pid, logdir=path, started_at=started_at,
                                create_time=create_time, owner_pid=owner, version=VERSION, log=str(log),
                                prefix=prefix)
            _remember(instance)
            if owner is not None:
                _stop_at_exit()
            return StartLaunched(instance)
        time.sleep(POLL_SECONDS)
    output_text = _trimmed(log)
    _terminate(Instance(port, process.pid, path, started_at, create_time, owner, log=str(log), prefix=prefix))
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
    identity = ProcessIdentity.of(instance.pid) if _alive(instance) else None
    if identity is not None:
        end(identity, STOP_TIMEOUT, group=True)  # its own session: the group is TensorBoard's alone
    child = _children.pop(instance.pid, None)
    if child is not None:
        child.wait()  # ended above: this only reaps it
    _forget(instance)


def stop(port: int | None = None) -> list[Instance]:
    """Stop the instance on `port`, or all of them; return what was stopped."""
    live = instances()
    chosen = [i for i in live if port is None or i.port == port]
    if port is not None and not chosen:
        raise ConfigError(tr("no TensorBoard started by colabmagic runs on port {port} (%tensorboard_inline --list "
                             "shows them)").format(port=port))
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


def serve(argv: list[str]) -> None:
    """Run TensorBoard in this process (`--owner PID -- TENSORBOARD-ARGS`), ending with PID unless it is 0."""
    owner = int(argv[argv.index("--owner") + 1]) if "--owner" in argv else 0
    arguments = argv[argv.index("--") + 1:] if "--" in argv else []
    prefix = os.environ.pop(PREFIX_ENV, "")
    sys.argv = ["tensorboard", *arguments, *(["--path_prefix", prefix] if prefix else [])]
    if owner:
        threading.Thread(target=_follow_owner, args=(owner,), name="follow-kernel", daemon=True).start()
    from tensorboard.main import run_main

    run_main()
