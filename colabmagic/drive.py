"""Google Drive, or any rclone remote, as a folder: a FUSE mount, or a mirror kept in sync.

`mount(mountpoint="~/drive", remote=None, mode="auto")` returns a `Mount`; Drive lands at
`MOUNTPOINT/MyDrive` as in Colab (`/content/drive/MyDrive`), another remote at `MOUNTPOINT/NAME`.

- mode "mount": `rclone mount` (FUSE) with a VFS write cache, driven over its remote control on a
  unix socket; `mount` returns once the folder answers (or says what is slow after `timeout` s).
  `readonly` is rclone's `--read-only`. Pending uploads survive a crash in the persistent cache
  (`~/.cache/colabmagic/rclone-vfs`) and go out the next time the same remote is mounted.
- mode "mirror" (auto when /dev/fuse or fusermount is missing, e.g. in a container): a real local
  folder synced both ways with `rclone bisync` every `interval` s and on unmount; with `readonly`
  it is only pulled, never pushed.
- `unmount()` flushes (every queued upload goes out, or the final bisync runs) and unmounts; the
  same runs for every mount at interpreter exit, and, when the kernel ends without finishing it
  (Jupyter's SIGTERM after ~2.5 s, SIGKILL), in the mount's watchdog process (drive_watchdog.py).
  A state file per mount (owner pid and start time, rclone pid, socket) lets a later kernel tell
  a stale mount left behind, and `force_remount` cleans it up.
- Colab's mount-point rules: the folder is empty or missing, its parent exists, it is no symlink.

Credentials: an existing remote (`remote="gdrive"`), `service_account=FILE`, the secrets
DRIVE_SERVICE_ACCOUNT (a file path or its JSON) or DRIVE_TOKEN (an rclone token), a configured
remote of type drive, or else the guided set-up (`rclone.authorize_drive`) that writes [gdrive]
into the rclone config with mode 0600. Tokens go to rclone through its environment, never on
its command line and never into a message.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import rclone
from .processes import process_start
from .files import state_dir, write_atomically
from .errors import ConfigError, MountError

DEFAULT_MOUNTPOINT = "~/drive"
DRIVE_FOLDER = "MyDrive"  # Colab's name for the Drive root inside the mount point
MODES = ("auto", "mount", "mirror")
# A mirror syncs at most this often: back-to-back bisyncs burn a Drive API quota (45 runs in 5 s at 0).
MIN_SYNC_INTERVAL = 5.0  # seconds
MAX_SECONDS = 7 * 86400  # any wait beyond a week is a typo (and inf overflows a timer)

_MOUNTS: dict[str, "Mount"] = {}  # str(mountpoint) -> live Mount of this process
_LOCK = threading.RLock()
_ATEXIT = False


@dataclass
class Mount:
    """A mounted (or mirrored) remote. `str()` is the folder holding the remote's files."""

    mountpoint: Path
    path: Path                 # mountpoint/MyDrive or mountpoint/NAME: the remote's files
    remote: str                # what rclone was given ("gdrive:", ":drive:", "box:photos")
    mode: str                  # "mount" or "mirror"
    readonly: bool = False
    why: str = ""              # why this mode was chosen
    seconds: float = 0.0       # until the folder answered
    already: bool = False      # it was mounted before this call: nothing was done
    interval: float = 0.0      # mirror: seconds between syncs
    last_error: str = ""       # mirror: what the last background sync said, "" when it worked
    _state: Path | None = field(default=None, repr=False)
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _socket: Path | None = field(default=None, repr=False)
    _runtime: Path | None = field(default=None, repr=False)
    _env: dict = field(default_factory=dict, repr=False)
    _workdir: Path | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _syncing: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _watchdog: subprocess.Popen | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def summary(self) -> str:
        if self.already:
            failed = f"; the last sync failed: {self.last_error}" if self.last_error else ""
            return (f"{self.remote} is already mounted at {self.path} (mode {self.mode}); "
                    f"to mount it again use --force-remount{failed}")
        access = "read-only" if self.readonly else "read-write"
        if self.mode == "mount":
            how = f"rclone FUSE mount, write cache, {access}"
        elif self.readonly:
            how = f"local mirror pulled every {self.interval:.0f} s, read-only: nothing is pushed"
        else:
            how = f"local mirror, changes pushed every {self.interval:.0f} s and on %unmount_drive"
        why = f"; {self.why}" if self.why else ""
        return f"Mounted {self.remote} at {self.path} (mode {self.mode}: {how}{why}) in {self.seconds:.1f} s"

    def _repr_pretty_(self, p, cycle):
        p.text(self.summary())

    def _repr_html_(self) -> str:
        return f"<div>{html.escape(self.summary())}</div>"


@dataclass
class Unmounted:
    """What %unmount_drive did."""

    mountpoint: Path
    mode: str
    flushed: int = 0          # uploads that were still pending (mount) / 1 final sync (mirror)
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.mode == "mount":
            pending = f"flushed {self.flushed} pending upload{'s' if self.flushed != 1 else ''}, " if self.flushed else ""
            return f"Unmounted {self.mountpoint} ({pending}{self.seconds:.1f} s)"
        return f"Unmounted {self.mountpoint} (mirror synced back and removed, {self.seconds:.1f} s)"

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


# --- the public functions ---------------------------------------------------------------------

def mount(mountpoint: str | os.PathLike = DEFAULT_MOUNTPOINT, *, remote: str | None = None,
          readonly: bool = False, force_remount: bool = False, mode: str = "auto",
          service_account: str | os.PathLike | None = None, timeout: float = 60, interval: float = 60,
          ask: Callable[[str], str] | None = None, show: Callable[[str], None] = print) -> Mount:
    """Mount REMOTE (default: Google Drive) at MOUNTPOINT/MyDrive (or MOUNTPOINT/NAME)."""
    if mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    _check_seconds("--interval", interval, MIN_SYNC_INTERVAL)
    _check_seconds("--timeout", timeout, 1.0)
    root = Path(os.path.abspath(Path(mountpoint).expanduser()))
    with _LOCK:
        live = _MOUNTS.get(str(root))
        if live is not None and _alive(live):
            if not force_remount:
                return _replace(live, already=True)
            unmount(root)
        elif live is not None:  # its rclone died under us
            _MOUNTS.pop(str(root), None)
            _stop_watchdog(live._watchdog)
            if live._process is not None:
                live._process.wait()  # reap it
            if not force_remount:
                raise MountError(_stale_message(root, live.path))
        spec, name, env = _resolve_remote(remote, service_account, ask or _hidden_prompt, show)
        path = root / name
        _check_mount_point(root, path, force_remount)
        chosen, why = _choose_mode(mode)
        started = time.perf_counter()
        result = None
        if chosen == "mount":
            try:
                result = _start_mount(root, path, spec, env, readonly, timeout)
            except MountError as err:
                # auto: a FUSE that exists but refuses us (a container without the right to mount)
                if mode != "auto" or not _is_fuse_refusal(str(err)):
                    raise
                chosen, why = "mirror", f"auto: the FUSE mount was refused ({err})"
        if result is None:
            result = _start_mirror(root, path, spec, env, readonly, interval)
        result.why = why
        result.seconds = time.perf_counter() - started
        _start_watchdog(result)
        _MOUNTS[str(root)] = result
        _register_exit()
        return result


def _check_seconds(option: str, value, least: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value <= MAX_SECONDS:
        raise ConfigError(f"{option} must be a number of seconds from {least:g} to {MAX_SECONDS:g}, not {value!r}")


def unmount(mountpoint: str | os.PathLike | None = None, *, timeout: float = 600) -> Unmounted:
    """Flush pending writes and unmount MOUNTPOINT (default: the only mount of this kernel)."""
    with _LOCK:
        if mountpoint is None:
            if not _MOUNTS:
                raise MountError("Nothing is mounted in this kernel")
            if len(_MOUNTS) > 1:
                raise MountError(f"Several mounts: name one of {', '.join(sorted(_MOUNTS))}")
            mountpoint = next(iter(_MOUNTS))
        root = Path(os.path.abspath(Path(mountpoint).expanduser()))
        live = _MOUNTS.get(str(root))
        if live is None:
            raise MountError(f"Nothing is mounted at {root} by this kernel"
                             + (f" (mounted here: {', '.join(sorted(_MOUNTS))})" if _MOUNTS else ""))
        started = time.perf_counter()
        if live.mode == "mount":
            flushed = _stop_mount(live, timeout)
        else:
            flushed = _stop_mirror(live)
        _MOUNTS.pop(str(root), None)
        _stop_watchdog(live._watchdog)
        return Unmounted(root, live.mode, flushed, time.perf_counter() - started)


def mounts() -> list[Mount]:
    """This kernel's mounts."""
    return list(_MOUNTS.values())


def _replace(m: Mount, **changes) -> Mount:
    view = Mount(**{k: getattr(m, k) for k in ("mountpoint", "path", "remote", "mode", "readonly", "why",
                                              "seconds", "interval", "last_error")})
    for key, value in changes.items():
        setattr(view, key, value)
    return view


# --- which remote, with which credentials -----------------------------------------------------

def _resolve_remote(remote, service_account, ask, show) -> tuple[str, str, dict]:
    """-> (rclone spec "NAME:path", folder name under the mount point, extra environment)."""
    if service_account is not None:
        return ":drive:", DRIVE_FOLDER, _service_account_env(Path(service_account).expanduser())
    if remote:
        name, _, sub = remote.partition(":")
        known = rclone.remotes()
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise MountError(f"No rclone remote named {name!r} in {rclone.config_path()} (configured: {listed}): "
                             "create it with `rclone config`, or run %mount_drive without --remote to set up "
                             "Google Drive")
        return f"{name}:{sub}", DRIVE_FOLDER if known[name] == "drive" else name, {}
    secret = _secret("DRIVE_SERVICE_ACCOUNT")
    if secret:
        if secret.lstrip().startswith("{"):
            return ":drive:", DRIVE_FOLDER, {"RCLONE_DRIVE_SERVICE_ACCOUNT_CREDENTIALS": secret, "RCLONE_DRIVE_SCOPE": "drive"}
        return ":drive:", DRIVE_FOLDER, _service_account_env(Path(secret).expanduser())
    secret = _secret("DRIVE_TOKEN")
    if secret:
        return ":drive:", DRIVE_FOLDER, {"RCLONE_DRIVE_TOKEN": secret, "RCLONE_DRIVE_SCOPE": "drive"}
    known = rclone.remotes()
    drives = sorted(n for n, kind in known.items() if kind == "drive")
    if "gdrive" in drives or len(drives) == 1:
        return f"{'gdrive' if 'gdrive' in drives else drives[0]}:", DRIVE_FOLDER, {}
    if len(drives) > 1:
        raise MountError(f"Several Google Drive remotes are configured ({', '.join(drives)}): choose one with --remote NAME")
    token = rclone.authorize_drive(ask, show)
    name = next(n for n in ("gdrive", *(f"gdrive{i}" for i in range(2, 100))) if n not in known)
    where = rclone.add_remote(name, {"type": "drive", "scope": "drive", "token": token})
    show(f"Saved the Google Drive remote {name!r} in {where} (mode 0600); next time: %mount_drive --remote {name}")
    return f"{name}:", DRIVE_FOLDER, {}


def _service_account_env(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise MountError(f"Cannot read the service account key {path}: {getattr(err, 'strerror', None) or 'not JSON'}") from err
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise MountError(f"{path} is not a Google service account key (its \"type\" must be \"service_account\")")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        warnings.warn(f"{path} can be read by other users: chmod 600 {path}", stacklevel=3)
    return {"RCLONE_DRIVE_SERVICE_ACCOUNT_FILE": str(path), "RCLONE_DRIVE_SCOPE": "drive"}


def _secret(name: str) -> str | None:
    from . import secrets

    return secrets.get(name)


def _hidden_prompt(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


# --- mount point rules and stale mounts --------------------------------------------------------

def _check_mount_point(root: Path, path: Path, force: bool) -> None:
    if root.is_symlink():
        raise MountError(f"{root} is a symbolic link: mount on a real folder (Colab's rule)")
    if not root.parent.is_dir():
        raise MountError(f"The parent folder {root.parent} does not exist: create it first, or pick another mount point")
    for stale in _fuse_mounts_under(root):
        if not force:
            raise MountError(_stale_message(root, stale))
        _clean_stale(stale)
    state = _read_state(root)
    if state is not None and state.get("mode") == "mirror" and path.is_dir():
        if not force:
            raise MountError(f"{path} is a mirror left by a kernel that exited (pid {state.get('owner')}); its last "
                             f"changes may not be pushed yet: %mount_drive {root} --force-remount syncs and reuses it")
        _stop_other_watchdog(state)
        _let_orphan_syncs_end(path, Path(state.get("workdir", path)))
        return  # _start_mirror adopts it: the next bisync pushes what is left
    if root.exists():
        if not root.is_dir():
            raise MountError(f"{root} is a file: mount on an empty or missing folder")
        entries = list(root.iterdir())
        ours = [e for e in entries if e == path and e.is_dir() and not e.is_symlink() and not any(e.iterdir())]
        if len(entries) > len(ours):
            raise MountError(f"{root} is not empty: mount on an empty or missing folder (Colab's rule), "
                             "or move its files away")


def _stale_message(root: Path, stale: Path) -> str:
    return (f"A stale mount is left at {stale} (its rclone process is gone or belongs to a kernel that exited): "
            f"%mount_drive {root} --force-remount cleans it up and mounts again")


def _fuse_mounts_under(root: Path) -> list[Path]:
    """FUSE mounts at or below ROOT (from /proc/self/mountinfo), deepest first."""
    try:
        lines = Path("/proc/self/mountinfo").read_bytes().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        left, _, right = line.partition(b" - ")
        fields = left.split()
        if len(fields) < 5 or not right.startswith(b"fuse"):
            continue
        point = mountinfo_path(fields[4])
        if point == root or root in point.parents:
            found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def mountinfo_path(field: bytes) -> Path:
    """A mount point as /proc/self/mountinfo writes it: the file name's own bytes, with space, tab,
    newline and backslash as octal escapes (\\040). Decoded as the file system names are (UTF-8 é
    stays é: unicode_escape turned it into 'Ã©' and a mount under a non-ASCII home never matched)."""
    raw = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field)
    return Path(os.fsdecode(raw))


def _clean_stale(point: Path, *, flush_timeout: float = 120) -> None:
    """Unmount a FUSE mount not owned by this process: flush it when its rclone still answers."""
    state = _read_state(point.parent) or {}
    _stop_other_watchdog(state)
    sock = state.get("socket")
    if sock and Path(sock).exists():
        control = rclone.RemoteControl(Path(sock))
        if control.answers():
            try:
                _flush(control, flush_timeout)
            except MountError:
                pass  # what is not uploaded stays in the VFS cache for the next mount
    _fusermount(point, lazy=True)
    pid = state.get("pid")
    if isinstance(pid, int) and _is_rclone(pid):
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid, 15)
    _remove_state(point.parent)
    if state.get("runtime"):
        shutil.rmtree(state["runtime"], ignore_errors=True)
    _remove_empty(point)


def _fusermount(point: Path, *, lazy: bool = False) -> subprocess.CompletedProcess:
    exe = shutil.which("fusermount3") or shutil.which("fusermount")
    if exe is None:
        return subprocess.run(["umount", *(["-l"] if lazy else []), str(point)], capture_output=True, text=True)
    return subprocess.run([exe, "-u", *(["-z"] if lazy else []), str(point)], capture_output=True, text=True)


def _is_rclone(pid: int) -> bool:
    try:
        return "rclone" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float) -> None:
    """Wait for a process that is not our child to exit; SIGKILL it after SECONDS."""
    deadline = time.monotonic() + seconds
    while process_start(pid) is not None:
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        time.sleep(0.05)


def _rclone_processes_on(path: Path) -> list[int]:
    """rclone processes with PATH as one of their arguments (a bisync of a dead kernel, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "rclone" in args[0] and str(path) in args and process_start(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def _pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(m: Mount) -> bool:
    if m.mode == "mount":
        return m._process is not None and m._process.poll() is None and m.path in _fuse_mounts_under(m.path)
    return m.path.is_dir()


def _is_fuse_refusal(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in ("fusermount", "/dev/fuse", "operation not permitted", "mount helper"))


def _choose_mode(mode: str) -> tuple[str, str]:
    fuse = Path("/dev/fuse").exists()
    fusermount = shutil.which("fusermount3") or shutil.which("fusermount")
    if mode == "mirror":
        return "mirror", ""
    if mode == "mount":
        if not fuse:
            raise MountError("--mode mount needs FUSE but /dev/fuse is missing (in Docker: --device /dev/fuse "
                             "--cap-add SYS_ADMIN): use --mode mirror")
        if not fusermount:
            raise MountError("--mode mount needs fusermount3: apt-get install fuse3 (or use --mode mirror)")
        return "mount", ""
    if not fuse:
        return "mirror", "auto: /dev/fuse is missing"
    if not fusermount:
        return "mirror", "auto: fusermount3 is missing (apt-get install fuse3 for a real mount)"
    return "mount", ""


# --- state files (one per mount point, for the next kernel) ----------------------------------

def _state_dir() -> Path:
    """Mount records, in the one state folder."""
    return state_dir() / "colabmagic-mounts"


def _state_file(root: Path) -> Path:
    return _state_dir() / (hashlib.sha256(str(root).encode()).hexdigest()[:16] + ".json")


def _write_state(root: Path, state: dict) -> Path:
    path = _state_file(root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, lambda f: f.write(json.dumps(state).encode()))
    return path


def _owner() -> dict:
    """This process, as the state file names it: a pid alone could be reused by another process."""
    return {"owner": os.getpid(), "owner_start": process_start(os.getpid())}


def _read_state(root: Path) -> dict | None:
    try:
        state = json.loads(_state_file(root).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _remove_state(root: Path) -> None:
    _state_file(root).unlink(missing_ok=True)


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "colabmagic" / "rclone-vfs"


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


# --- mode "mount" ------------------------------------------------------------------------------

def _start_mount(root: Path, path: Path, spec: str, env: dict, readonly: bool, timeout: float) -> Mount:
    path.mkdir(parents=True, exist_ok=True)
    runtime = Path(tempfile.mkdtemp(prefix="colabmagic-rclone-"))  # 0700: holds the control socket
    sock, log = runtime / "rc.sock", runtime / "rclone.log"
    args = [rclone.binary(), "mount", spec, str(path),
            "--vfs-cache-mode", "writes", "--cache-dir", str(_cache_dir()),
            "--dir-cache-time", "1m", "--buffer-size", "32M",
            # the first ranged read 16 MB, doubling after each (rclone's default starts at 128 MB):
            # a sequential read of 100 MB went from 0.78x to 1.2x `rclone cat`'s throughput on a busy
            # 2-core machine (benchmarks/bench_drive.py); a large file costs ~3 more requests
            "--vfs-read-chunk-size", "16M",
            "--rc", "--rc-addr", f"unix://{sock}", "--rc-no-auth",
            "--log-file", str(log), "--log-level", "NOTICE"]
    if readonly:
        args.append("--read-only")
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               env={**os.environ, **env}, start_new_session=True)  # Ctrl-C in a cell must not hit it
    result = Mount(root, path, spec, "mount", readonly, _process=process, _socket=sock, _runtime=runtime, _env=env)
    try:
        _wait_until_answers(result, log, timeout)
    except BaseException:
        _kill(process)
        _fusermount(path, lazy=True)
        shutil.rmtree(runtime, ignore_errors=True)
        _remove_empty(path)
        raise
    result._state = _write_state(root, {"mountpoint": str(root), "path": str(path), "mode": "mount",
                                        **_owner(), "pid": process.pid, "socket": str(sock),
                                        "runtime": str(runtime), "remote": spec, "readonly": readonly})
    return result


def _wait_until_answers(m: Mount, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m._process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise MountError(f"rclone mount of {m.remote} failed: {rclone.last_error(text)}")
        if m.path in _fuse_mounts_under(m.path):
            if _lists_within(m.path, deadline - time.monotonic()):
                return
            break
        time.sleep(0.05)
    raise MountError(f"{m.remote} did not answer within {timeout:.0f} s at {m.path}: rclone is still listing the "
                     "remote (a slow network, a proxy, or a folder with very many files). Try: --timeout 300, "
                     f"check the network or HTTPS_PROXY, or --mode mirror; rclone's log: {log}")


def _lists_within(path: Path, seconds: float) -> bool:
    """os.listdir in a thread: a FUSE folder that hangs must not hang the kernel."""
    done = threading.Event()
    threading.Thread(target=lambda: (_try_listdir(path), done.set()), daemon=True).start()
    return done.wait(max(seconds, 0.1))


def _try_listdir(path: Path) -> None:
    try:
        os.listdir(path)
    except OSError:
        pass


QUIET = 0.25  # seconds the upload queue must stay empty: FUSE delivers a close() to rclone asynchronously


def _flush(control: rclone.RemoteControl, timeout: float) -> int:
    """Upload every queued write now and wait until none is left; returns how many were pending.

    A file closed just before this call may reach rclone's queue a few milliseconds later (FUSE's
    RELEASE is asynchronous), so the queue must stay empty for QUIET seconds before it counts."""
    deadline = time.monotonic() + timeout
    seen: set = set()
    quiet_since = None
    while True:
        queue = control.call("vfs/queue").get("queue") or []
        for item in queue:
            seen.add(item.get("name"))
            if not item.get("uploading") and item.get("expiry", 0) > 0:
                try:
                    control.call("vfs/queue-set-expiry", id=item["id"], expiry=0)
                except MountError:
                    pass  # it started uploading meanwhile
        cache = control.call("vfs/stats").get("diskCache") or {}
        if queue or cache.get("uploadsInProgress") or cache.get("uploadsQueued"):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET:
            return len(seen)
        if cache.get("erroredFiles"):
            raise MountError(f"{cache['erroredFiles']} file(s) could not be uploaded; they stay in {cache.get('path')} "
                             "and go out at the next mount")
        if time.monotonic() > deadline:
            raise MountError(f"Uploads still pending after {timeout:.0f} s ({len(queue)} queued): "
                             "run %unmount_drive again to keep waiting")
        time.sleep(0.02)


def _stop_mount(m: Mount, timeout: float) -> int:
    flushed = 0
    control = rclone.RemoteControl(m._socket)
    if m._process.poll() is None:
        flushed = _flush(control, timeout)
    done = _fusermount(m.path)
    if done.returncode != 0 and m.path in _fuse_mounts_under(m.path):
        if "busy" in (done.stderr or "").lower():
            raise MountError(f"{m.path} is busy: a program has a file or its working folder there (close it, "
                             "or %cd elsewhere), then run %unmount_drive again")
        _fusermount(m.path, lazy=True)
    try:
        m._process.wait(15)
    except subprocess.TimeoutExpired:
        _kill(m._process)
    _remove_state(m.mountpoint)
    shutil.rmtree(m._runtime, ignore_errors=True)
    _remove_empty(m.path)
    return flushed


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- mode "mirror" -----------------------------------------------------------------------------

def _start_mirror(root: Path, path: Path, spec: str, env: dict, readonly: bool, interval: float) -> Mount:
    adopting = path.is_dir() and any(path.iterdir())
    path.mkdir(parents=True, exist_ok=True)
    workdir = _cache_dir().parent / ("bisync-" + hashlib.sha256(str(root).encode()).hexdigest()[:16])
    result = Mount(root, path, spec, "mirror", readonly, interval=interval, _env=env, _workdir=workdir)
    try:
        _sync(result, first=not (adopting and workdir.is_dir()))
    except BaseException:
        if not adopting:
            shutil.rmtree(path, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    result._state = _write_state(root, {"mountpoint": str(root), "path": str(path), "mode": "mirror",
                                        **_owner(), "remote": spec, "workdir": str(workdir),
                                        "readonly": readonly})
    result._thread = threading.Thread(target=_sync_every, args=(result,), daemon=True, name=f"mirror {path}")
    result._thread.start()
    return result


def _sync(m: Mount, *, first: bool = False) -> None:
    """One round: bisync (pull only when read-only). `first` builds bisync's listings (--resync).

    A sync is never cut short by the kernel's end or an interrupt (rclone.run's finish_on_interrupt):
    a round that an interrupted kernel left running is waited for, never raced."""
    with m._syncing:
        _let_orphan_syncs_end(m.path, m._workdir)
        if m.readonly:
            rclone.run(["sync", m.remote, str(m.path), "--create-empty-src-dirs"], env=m._env, timeout=3600,
                       finish_on_interrupt=True)
            return
        m._workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        args = ["bisync", m.remote, str(m.path), "--workdir", str(m._workdir), "--resilient", "--recover",
                "--create-empty-src-dirs", "--conflict-resolve", "newer", "--max-lock", "2m"]
        rclone.run(args + (["--resync"] if first else []), env=m._env, timeout=3600, finish_on_interrupt=True)


def _sync_every(m: Mount) -> None:
    while not m._stop.wait(m.interval):
        try:
            _sync(m)
            m.last_error = ""
        except Exception as err:  # noqa: BLE001 -- a background round must not die; unmount reports it
            m.last_error = str(err)


def _stop_mirror(m: Mount) -> int:
    m._stop.set()
    if m._thread is not None:
        m._thread.join(timeout=3600)
    if not m.readonly:
        try:
            _sync(m)
        except MountError as err:
            raise MountError(f"Could not push the last changes ({err}); the local copy stays at {m.path}: "
                             "run %unmount_drive again") from None
    shutil.rmtree(m.path, ignore_errors=True)
    shutil.rmtree(m._workdir, ignore_errors=True)
    _remove_state(m.mountpoint)
    return 1


# --- at exit, and after a kernel that could not finish its own exit ----------------------------

def _launch_watchdog(root: Path, env: dict) -> subprocess.Popen | None:
    """Start the watchdog of the mount at ROOT for this process; ENV: the mount's credentials.

    None without /proc (not Linux): there the atexit unmount is all there is."""
    owner = os.getpid()
    owner_start = process_start(owner)
    if owner_start is None:
        return None
    package_parent = str(Path(__file__).resolve().parents[1])  # importable however the kernel found us
    path = os.environ.get("PYTHONPATH")
    child_env = {**os.environ, **env, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
    return subprocess.Popen(
        [sys.executable, "-m", "colabmagic.drive_watchdog", str(root), str(owner), str(owner_start)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env,
        cwd="/",  # never a working folder inside the mount: that would keep it busy
        start_new_session=True)


def _stop_watchdog(process: subprocess.Popen | None) -> None:
    """Stop a watchdog whose mount was unmounted (or dropped) by its own kernel."""
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()


def _is_watchdog(pid: int) -> bool:
    try:
        return "colabmagic.drive_watchdog" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _start_watchdog(m: Mount) -> None:
    """A process outside the kernel's process group that unmounts once the kernel is gone."""
    m._watchdog = _launch_watchdog(m.mountpoint, m._env)
    if m._watchdog is not None:
        m._state = _write_state(m.mountpoint, {**(_read_state(m.mountpoint) or {}), "watchdog": m._watchdog.pid})


def _stop_other_watchdog(state: dict) -> None:
    """Before cleaning up a mount left behind: its watchdog must not clean up at the same time."""
    pid = state.get("watchdog")
    if isinstance(pid, int) and pid != os.getpid() and _is_watchdog(pid):
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid, 5)


def _let_orphan_syncs_end(path: Path, workdir: Path, seconds: float = 600) -> None:
    """Wait for the syncs a dead kernel (or its stopped watchdog) started: rclone finishes its
    transfers after a SIGTERM. Then drop the bisync locks that nobody holds any more."""
    deadline = time.monotonic() + seconds
    while _rclone_processes_on(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not _rclone_processes_on(path):
        for lock in workdir.glob("*.lck"):  # left by a bisync killed with the kernel
            lock.unlink(missing_ok=True)


def clean_up_after_owner(root: Path, state: dict) -> None:
    """What unmount does, for a mount whose kernel is gone (run by its watchdog, as in unmount)."""
    path = Path(state["path"])
    if state.get("mode") == "mount":
        _clean_stale(path, flush_timeout=600)
        return
    workdir = Path(state["workdir"])
    _let_orphan_syncs_end(path, workdir)
    if not path.is_dir():  # the kernel's own unmount got as far as removing the mirror
        shutil.rmtree(workdir, ignore_errors=True)
        _remove_state(root)
        return
    m = Mount(root, path, state.get("remote", ""), "mirror", bool(state.get("readonly")), _workdir=workdir)
    _stop_mirror(m)


def _register_exit() -> None:
    global _ATEXIT
    if not _ATEXIT:
        atexit.register(unmount_all)
        _ATEXIT = True


def unmount_all() -> None:
    """Flush and unmount every mount of this process (runs at interpreter exit)."""
    for root in list(_MOUNTS):
        try:
            unmount(root)
        except Exception as err:  # noqa: BLE001 -- at exit: say it, go on with the others
            print(f"colabmagic: could not unmount {root}: {err}")
            m = _MOUNTS.pop(root, None)
            if m is not None and m._process is not None:
                _fusermount(m.path, lazy=True)
                _kill(m._process)

