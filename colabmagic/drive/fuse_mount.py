"""Mode "mount": `rclone mount` (FUSE) with a VFS write cache, driven over its remote control.

`start` returns once the folder answers (or says what is slow after `timeout` s). Pending uploads
survive a crash in the persistent cache (~/.cache/colabmagic/rclone-vfs) and go out the next time
the same remote is mounted. `stop` flushes every queued upload, then unmounts; `clean_stale` does
the same for a mount whose kernel is gone, as far as its rclone still answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..errors import MountError
from ..locale import tr
from ..processes import ProcessIdentity, end_child
from . import fuse, orphans, rclone, state
from .results import Mount

QUIET = 0.25  # seconds the upload queue must stay empty: FUSE delivers a close() to rclone asynchronously


def start(root: Path, path: Path, spec: str, env: dict, readonly: bool, timeout: float) -> Mount:
    path.mkdir(parents=True, exist_ok=True)
    runtime = Path(tempfile.mkdtemp(prefix="colabmagic-rclone-"))  # 0700: holds the control socket
    sock, log = runtime / "rc.sock", runtime / "rclone.log"
    args = [rclone.binary(), "mount", spec, str(path),
            "--vfs-cache-mode", "writes", "--cache-dir", str(rclone.cache_dir() / "rclone-vfs"),
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
        end_child(process)
        fuse.unmount(path, lazy=True)
        shutil.rmtree(runtime, ignore_errors=True)
        _remove_empty(path)
        raise
    rclone_process = ProcessIdentity.of(process.pid)
    state.write(root, state.MountRecord.of_this_kernel(
        root, path, "mount", remote=spec, readonly=readonly, pid=process.pid,
        pid_start=rclone_process.start if rclone_process else None, socket=str(sock), runtime=str(runtime)))
    return result


def _wait_until_answers(m: Mount, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m._process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise MountError(tr("rclone mount of {remote} failed: {error}").format(
                remote=m.remote, error=rclone.last_error(text)))
        if m.path in fuse.mounts_under(m.path):
            if _lists_within(m.path, deadline - time.monotonic()):
                return
            break
        time.sleep(0.05)
    raise MountError(tr("{remote} did not answer within {seconds:.0f} s at {path}: rclone is still listing the "
                        "remote (a slow network, a proxy, or a folder with very many files). Try: --timeout 300, "
                        "check the network or HTTPS_PROXY, or --mode mirror; rclone's log: {log}").format(
        remote=m.remote, seconds=timeout, path=m.path, log=log))


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


def alive(m: Mount) -> bool:
    """Whether M's rclone still serves its folder."""
    return m._process is not None and m._process.poll() is None and m.path in fuse.mounts_under(m.path)


def flush(control: rclone.RemoteControl, timeout: float) -> int:
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
            raise MountError(tr("{n} file(s) could not be uploaded; they stay in {path} and go out at the next "
                                "mount").format(n=cache["erroredFiles"], path=cache.get("path")))
        if time.monotonic() > deadline:
            raise MountError(tr("Uploads still pending after {seconds:.0f} s ({n} queued): run %unmount_drive "
                                "again to keep waiting").format(seconds=timeout, n=len(queue)))
        time.sleep(0.02)


def stop(m: Mount, timeout: float) -> int:
    """Flush and unmount M; returns how many uploads were still pending."""
    flushed = 0
    control = rclone.RemoteControl(m._socket)
    if m._process.poll() is None:
        flushed = flush(control, timeout)
    done = fuse.unmount(m.path)
    if done.returncode != 0 and m.path in fuse.mounts_under(m.path):
        if "busy" in (done.stderr or "").lower():
            raise MountError(tr("{path} is busy: a program has a file or its working folder there (close it, "
                                "or %cd elsewhere), then run %unmount_drive again").format(path=m.path))
        fuse.unmount(m.path, lazy=True)
    try:
        m._process.wait(15)
    except subprocess.TimeoutExpired:
        end_child(m._process)
    state.remove(m.mountpoint)
    shutil.rmtree(m._runtime, ignore_errors=True)
    _remove_empty(m.path)
    return flushed


def abandon(m: Mount) -> None:
    """Detach M's folder and end its rclone without flushing (at exit, after unmount failed)."""
    fuse.unmount(m.path, lazy=True)
    end_child(m._process)


def clean_stale(point: Path, *, flush_timeout: float = 120) -> None:
    """Unmount a FUSE mount not owned by this process: flush it when its rclone still answers."""
    record = state.read(point.parent)
    if record is not None:
        orphans.stop_watchdog_of(record)
    if record is not None and record.socket and Path(record.socket).exists():
        control = rclone.RemoteControl(Path(record.socket))
        if control.answers():
            try:
                flush(control, flush_timeout)
            except MountError:
                pass  # what is not uploaded stays in the VFS cache for the next mount
    fuse.unmount(point, lazy=True)
    if record is not None:
        orphans.stop_rclone_of(record)
    state.remove(point.parent)
    if record is not None and record.runtime:
        shutil.rmtree(record.runtime, ignore_errors=True)
    _remove_empty(point)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
