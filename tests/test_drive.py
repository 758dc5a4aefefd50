"""%mount_drive / %unmount_drive against a real remote: `rclone serve webdav` over a temp folder on
127.0.0.1, configured as an rclone webdav remote. FUSE mounts for real (/dev/fuse, fuse3) and the
mirror mode; every test checks that no mount and no rclone process of its own is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from colabmagic import drive
from colabmagic.drive import credentials, fuse, rclone, watchdog
from colabmagic.errors import MountError

from conftest import run_ok
from system_tools import needs_fuse, require_fuse



def our_processes(marker: str) -> list[int]:
    """rclone and mount watchdog processes whose command line mentions MARKER (this test's temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
                state = (entry / "stat").read_text().split()[2]
            except OSError:
                continue
            if ("rclone" in cmd or watchdog.MODULE in cmd) and marker in cmd and state != "Z":
                found.append(int(entry.name))
    return found


def bisyncing(marker: str) -> bool:
    """Whether an `rclone bisync` of this test's mirror runs."""
    for pid in our_processes(marker):
        try:
            if b"\0bisync\0" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def fuse_mounts(marker: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if " - fuse" in line and marker in line]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`rclone serve webdav` over `folder`, and an rclone config naming it remote `served`."""

    def __init__(self, root: Path):
        self.folder = root / "served"
        self.folder.mkdir()
        (self.folder / "hello.txt").write_text("hello from the remote\n")
        (self.folder / "data").mkdir()
        (self.folder / "data" / "train.csv").write_text("a,b\n1,2\n")
        self.port = free_port()
        self.config = root / "rclone.conf"
        self.config.write_text(f"[served]\ntype = webdav\nurl = http://127.0.0.1:{self.port}/\nvendor = rclone\n")
        self.config.chmod(0o600)
        self.process = subprocess.Popen(
            [rclone.binary(), "serve", "webdav", str(self.folder), "--addr", f"127.0.0.1:{self.port}",
             "--dir-cache-time", "0s", "--config", "/dev/null"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A served remote; HOME, the rclone config and every cache under tmp_path; leak checks after."""
    marker = str(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path / "state"))
    for name in ("DRIVE_TOKEN", "DRIVE_SERVICE_ACCOUNT", "RCLONE_DRIVE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    server = Served(tmp_path)
    monkeypatch.setenv("RCLONE_CONFIG", str(server.config))
    try:
        yield server
    finally:
        drive.unmount_all()
        server.stop()
        leftovers = fuse_mounts(marker), our_processes(marker)
        for line in leftovers[0]:  # clean up for the next test, then fail this one
            subprocess.run(["fusermount3", "-uz", line.split()[4]], capture_output=True)
        for pid in leftovers[1]:
            os.kill(pid, signal.SIGKILL)
        assert leftovers == ([], []), f"left behind: {leftovers}"


def wait_for(probe, seconds=15):
    deadline = time.monotonic() + seconds
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


# --- mount mode (FUSE) -------------------------------------------------------------------------

@needs_fuse
def test_mount_read_write_unmount_and_see_it_served(served, tmp_path, shell, capsys):
    point = tmp_path / "drive"
    m = run_ok(shell, f"%mount_drive {point} --remote served --mode mount -o")
    assert m.mode == "mount" and m.path == point / "served"
    assert "Mounted served: at" in capsys.readouterr().out
    assert (m.path / "hello.txt").read_text() == "hello from the remote\n"
    assert (m.path / "data" / "train.csv").read_text() == "a,b\n1,2\n"
    (m.path / "written.txt").write_text("from the notebook\n")
    (m.path / "data" / "more.csv").write_bytes(b"x" * 100_000)
    again = run_ok(shell, f"%mount_drive {point} --remote served -o")
    assert again.already and "already mounted" in again.summary()
    done = run_ok(shell, "%unmount_drive -o")
    assert done.flushed >= 1  # the writes were still queued (rclone's write-back delay is 5 s)
    assert (served.folder / "written.txt").read_text() == "from the notebook\n"  # flushed, on the served side
    assert (served.folder / "data" / "more.csv").stat().st_size == 100_000
    assert not fuse_mounts(str(tmp_path)) and list(point.iterdir()) == []


@needs_fuse
def test_a_mount_under_a_non_ascii_folder_completes(served, tmp_path):
    """A home folder named in another script (学习, é) holds the default ~/drive: the mount is found
    in /proc/self/mountinfo (it waited 15 s and blamed rclone when the path was decoded wrongly)."""
    point = tmp_path / "用户 é" / "drive"
    point.parent.mkdir()
    started = time.monotonic()
    m = drive.mount(point, remote="served", mode="mount", timeout=60)
    assert time.monotonic() - started < 10
    assert (m.path / "hello.txt").read_text().startswith("hello")
    assert fuse.mounts_under(point) == [m.path]
    drive.unmount(point)
    assert not fuse_mounts(str(tmp_path))


@pytest.mark.parametrize("raw, path", [(b"/home/caf\303\251", "/home/café"), (b"/home/\346\226\207", "/home/文"),
                                       (b"/mnt/my\040drive", "/mnt/my drive"), (b"/a\134b\011c", "/a\\b\tc")])
def test_mountinfo_paths_decode_as_the_file_system_names_them(raw, path):
    raw = raw.replace(b"\\303\\251", "é".encode()).replace(b"\\346\\226\\207", "文".encode())  # raw UTF-8 bytes
    assert fuse.mountinfo_path(raw) == Path(path)


@needs_fuse
def test_readonly_refuses_writes(served, tmp_path):
    m = drive.mount(tmp_path / "drive", remote="served", readonly=True, mode="mount")
    assert (m.path / "hello.txt").read_text().startswith("hello")
    with pytest.raises(OSError):
        (m.path / "nope.txt").write_text("x")
    drive.unmount(tmp_path / "drive")
    assert not (served.folder / "nope.txt").exists()


@needs_fuse
def test_killed_mount_is_detected_and_cleaned(served, tmp_path, shell):
    point = tmp_path / "drive"
    m = drive.mount(point, remote="served", mode="mount")
    os.kill(m._process.pid, signal.SIGKILL)  # as when the kernel and its rclone are killed
    m._process.wait()
    with pytest.raises(OSError):
        os.listdir(m.path)  # "Transport endpoint is not connected"
    result = shell.run_cell(f"%mount_drive {point} --remote served", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "stale mount" in str(result.error_in_exec) and "--force-remount" in str(result.error_in_exec)
    again = run_ok(shell, f"%mount_drive {point} --remote served --force-remount -o")
    assert (again.path / "hello.txt").read_text().startswith("hello")
    drive.unmount(point)


@needs_fuse
def test_stale_mount_of_a_killed_kernel(served, tmp_path):
    """Another kernel mounted and was SIGKILLed with its watchdog: its state file and dead FUSE mount remain."""
    point = tmp_path / "drive"
    script = (f"from colabmagic import drive; m = drive.mount({str(point)!r}, remote='served', mode='mount'); "
              "print(m._process.pid, m._watchdog.pid, flush=True); import time; time.sleep(60)")
    kernel = subprocess.Popen([os.sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    rclone_pid, watchdog = map(int, kernel.stdout.readline().split())
    os.kill(watchdog, signal.SIGKILL)
    kernel.kill()
    kernel.wait()
    os.kill(rclone_pid, signal.SIGKILL)
    assert fuse_mounts(str(point))  # the dead kernel's mount is still there
    with pytest.raises(MountError, match="stale mount"):
        drive.mount(point, remote="served")
    m = drive.mount(point, remote="served", force_remount=True)
    assert (m.path / "hello.txt").exists()
    drive.unmount(point)


# --- mirror mode -------------------------------------------------------------------------------

def test_mirror_read_write_unmount_and_see_it_served(served, tmp_path, shell):
    point = tmp_path / "drive"
    m = run_ok(shell, f"%mount_drive {point} --remote served --mode mirror -q -o")
    assert m.mode == "mirror" and "mode mirror" in m.summary()
    assert not fuse_mounts(str(tmp_path))  # a real local folder, no FUSE
    assert (m.path / "hello.txt").read_text() == "hello from the remote\n"
    (m.path / "written.txt").write_text("mirrored\n")
    (m.path / "hello.txt").unlink()
    run_ok(shell, f"%unmount_drive {point}")
    assert (served.folder / "written.txt").read_text() == "mirrored\n"
    assert not (served.folder / "hello.txt").exists()  # deletions go back too (bisync)
    assert list(point.iterdir()) == []


@pytest.mark.parametrize("option", ["--interval 0", "--interval -5", "--interval inf", "--timeout 0"])
def test_absurd_seconds_are_one_usage_error_and_start_nothing(served, tmp_path, shell, option):
    """--interval 0 ran bisync back to back (45 runs in 5 s: a Drive quota burnt)."""
    point = tmp_path / "drive"
    result = shell.run_cell(f"%mount_drive {point} --remote served --mode mirror {option}", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert option.split()[0] in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    assert not point.exists() and our_processes(str(tmp_path)) == [served.process.pid]


def test_mirror_pushes_periodically(served, tmp_path):
    m = drive.mount(tmp_path / "drive", remote="served", mode="mirror", interval=drive.MIN_SYNC_INTERVAL)
    (m.path / "periodic.txt").write_text("p")
    wait_for(lambda: (served.folder / "periodic.txt").exists(), 30)
    drive.unmount()


def test_readonly_mirror_never_pushes(served, tmp_path):
    m = drive.mount(tmp_path / "drive", remote="served", mode="mirror", readonly=True)
    assert "read-only" in m.summary()
    (m.path / "local-only.txt").write_text("x")
    drive.unmount()
    assert not (served.folder / "local-only.txt").exists()


def test_auto_mode_falls_back_to_mirror_without_fuse(served, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if "fusermount" in name else shutil.which(name))
    m = drive.mount(tmp_path / "drive", remote="served")
    assert m.mode == "mirror" and "fusermount3 is missing" in m.summary()
    drive.unmount()


# --- rules, errors and credentials -------------------------------------------------------------

def test_unknown_remote_is_one_clear_line(served, tmp_path, shell):
    result = shell.run_cell(f"%mount_drive {tmp_path / 'drive'} --remote nosuch", store_history=False)
    assert type(result.error_in_exec) is UsageError
    message = str(result.error_in_exec)
    assert "No rclone remote named 'nosuch'" in message and "served" in message and "\n" not in message


@pytest.mark.parametrize("setup, message", [
    (lambda p: (p.mkdir(), (p / "f.txt").write_text("x")), "is not empty"),
    (lambda p: (p.parent.joinpath("real").mkdir(), p.symlink_to(p.parent / "real")), "symbolic link"),
    (lambda p: None, "parent folder"),
])
def test_colab_mount_point_rules(served, tmp_path, setup, message):
    point = tmp_path / "drive"
    if message == "parent folder":
        point = tmp_path / "missing" / "drive"
    setup(point)
    with pytest.raises(MountError, match=message):
        drive.mount(point, remote="served", mode="mirror")


def test_unmount_without_mount(served, shell):
    result = shell.run_cell("%unmount_drive", store_history=False)
    assert type(result.error_in_exec) is UsageError and "Nothing is mounted" in str(result.error_in_exec)


def test_guided_setup_writes_config_0600_and_never_shows_the_token(served, tmp_path, monkeypatch):
    served.config.write_text("")  # no Drive remote yet: the guided flow runs
    token = json.dumps({"access_token": "ya29.SECRET", "token_type": "Bearer", "refresh_token": "1//R",
                        "expiry": "2030-01-01T00:00:00Z"})
    shown = []
    spec, name, env = credentials.resolve_remote(None, None, ask=lambda prompt: f"Paste this --->\n{token}\n<---End paste",
                                            show=shown.append)
    assert (spec, name, env) == ("gdrive:", "MyDrive", {})
    text = served.config.read_text()
    assert "[gdrive]" in text and "type = drive" in text and "ya29.SECRET" in text
    assert stat.S_IMODE(served.config.stat().st_mode) == 0o600
    assert "http://127.0.0.1:53682/auth?state=" in shown[0]
    assert not any("SECRET" in line for line in shown)
    assert rclone.remotes() == {"gdrive": "drive"}
    assert credentials.resolve_remote(None, None, ask=None, show=print)[0] == "gdrive:"  # found next time


def test_service_account_key_is_checked(served, tmp_path):
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(MountError, match="not a Google service account key"):
        drive.mount(tmp_path / "drive", service_account=key)
    key.write_text(json.dumps({"type": "service_account", "client_email": "x@y"}))
    key.chmod(0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        assert credentials.resolve_remote(None, key, None, print) == (
            ":drive:", "MyDrive", {"RCLONE_DRIVE_SERVICE_ACCOUNT_FILE": str(key), "RCLONE_DRIVE_SCOPE": "drive"})


def test_drive_token_secret_goes_through_the_environment(served, monkeypatch):
    monkeypatch.setenv("DRIVE_TOKEN", '{"access_token": "x"}')
    assert credentials.resolve_remote(None, None, None, print) == (
        ":drive:", "MyDrive", {"RCLONE_DRIVE_TOKEN": '{"access_token": "x"}', "RCLONE_DRIVE_SCOPE": "drive"})


# --- the kernel's end --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["mount", "mirror"])
def test_kernel_exit_flushes_and_unmounts(served, tmp_path, mode):
    if mode == "mount":
        require_fuse()
    point = tmp_path / "drive"
    script = (f"from colabmagic import drive; m = drive.mount({str(point)!r}, remote='served', mode={mode!r}); "
              "(m.path / 'at-exit.txt').write_text('bye')")  # and the interpreter exits without %unmount_drive
    subprocess.run([os.sys.executable, "-c", script], check=True, timeout=60)
    assert (served.folder / "at-exit.txt").read_text() == "bye"
    assert not fuse_mounts(str(tmp_path)) and list(point.iterdir()) == []


BIG = 24 << 20  # at --bwlimit 4M its upload takes >= 5 s: longer than Jupyter's ~2.5 s shutdown grace


def state_files(tmp_path) -> list[Path]:
    return list((tmp_path / "state" / "colabmagic-mounts").glob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("mode, how", [("mount", "shutdown"), ("mount", "kill"), ("mirror", "shutdown"),
                                       ("mirror", "kill")])
def test_a_real_kernel_that_cannot_finish_its_exit_still_flushes_and_unmounts(served, tmp_path, mode, how):
    """shutdown: Jupyter's shutdown request, then its SIGTERM of the kernel's process group while the
    atexit flush of a bandwidth-limited upload is still running; kill: SIGKILL of the group at once.
    Either way the kernel's atexit unmount never finishes: the mount's watchdog does it."""
    if mode == "mount":
        require_fuse()
    jupyter_client = pytest.importorskip("jupyter_client")
    point, marker = tmp_path / "drive", str(tmp_path)
    size = BIG  # a bandwidth-limited upload: the kernel's end always comes in the middle of it
    env = {**os.environ, "RCLONE_BWLIMIT": "4M"}  # rclone reads its flags here
    ours = lambda: [pid for pid in our_processes(marker) if pid != served.process.pid]  # noqa: E731
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(tmp_path))
    kernel = km.provisioner.process
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(
            f"from colabmagic import drive\nm = drive.mount({str(point)!r}, remote='served', mode={mode!r}, "
            f"interval=3600)\n(m.path / 'big.bin').write_bytes(bytes(range(256)) * ({size} // 256))", timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        assert state_files(tmp_path) and ours() != []
    finally:
        kc.stop_channels()
    km.shutdown_kernel(now=(how == "kill"))
    # the kernel did not exit by itself: its atexit unmount was cut short
    assert kernel.returncode == (-signal.SIGTERM if how == "shutdown" else -signal.SIGKILL)
    wait_for(lambda: not ours() and not state_files(tmp_path), 120)
    assert (served.folder / "big.bin").read_bytes() == bytes(range(256)) * (size // 256)
    assert not fuse_mounts(marker) and list(point.iterdir()) == []


def test_a_kernel_killed_while_its_mirror_uploads_loses_nothing(served, tmp_path):
    """Jupyter's kill (SIGKILL to the kernel's process group) lands while a periodic bisync is in the
    middle of a bandwidth-limited upload. The sync runs in a session of its own, so it finishes
    the upload; the watchdog waits for it, syncs once more and removes the mirror. (When the sync
    shared the kernel's group it died mid-upload, the remote kept a truncated file, and the final
    bisync's newer-wins rule could then copy the truncated one over the user's file.)"""
    jupyter_client = pytest.importorskip("jupyter_client")
    point, marker = tmp_path / "drive", str(tmp_path)
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "RCLONE_BWLIMIT": "4M"}, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(
            f"from colabmagic import drive\nm = drive.mount({str(point)!r}, remote='served', mode='mirror', "
            f"interval=5)\n(m.path / 'big.bin').write_bytes(bytes(range(256)) * ({BIG} // 256))", timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        wait_for(lambda: bisyncing(marker), 30)  # the periodic bisync (every 5 s) is uploading
        time.sleep(1)  # well into the upload (24 MB at 4 MB/s)
    finally:
        kc.stop_channels()
    km.shutdown_kernel(now=True)
    wait_for(lambda: [served.process.pid] == our_processes(marker) and not state_files(tmp_path), 120)
    assert (served.folder / "big.bin").read_bytes() == bytes(range(256)) * (BIG // 256)
    assert not point.exists() or list(point.iterdir()) == []


def test_mirror_of_a_killed_kernel_is_synced_by_force_remount(served, tmp_path):
    """The kernel and its watchdog were killed (the machine's OOM killer, say): the mirror is left."""
    point = tmp_path / "drive"
    script = (f"from colabmagic import drive; m = drive.mount({str(point)!r}, remote='served', mode='mirror', "
              "interval=3600); (m.path / 'unpushed.txt').write_text('u'); print(m._watchdog.pid, flush=True); "
              "import time; time.sleep(60)")
    kernel = subprocess.Popen([os.sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    watchdog = int(kernel.stdout.readline())
    os.kill(watchdog, signal.SIGKILL)
    kernel.kill()
    kernel.wait()
    assert not (served.folder / "unpushed.txt").exists()
    with pytest.raises(MountError, match="mirror left by a kernel that exited"):
        drive.mount(point, remote="served", mode="mirror")
    m = drive.mount(point, remote="served", mode="mirror", force_remount=True)
    assert (m.path / "unpushed.txt").read_text() == "u" and (m.path / "hello.txt").exists()
    assert (served.folder / "unpushed.txt").read_text() == "u"  # pushed by the first sync
    drive.unmount(point)


def test_force_remount_while_the_dead_kernels_watchdog_cleans_up(served, tmp_path):
    """The new mount stops the old watchdog (or finds its work done): never two syncs at once."""
    point = tmp_path / "drive"
    script = (f"from colabmagic import drive; m = drive.mount({str(point)!r}, remote='served', mode='mirror', "
              "interval=3600); (m.path / 'unpushed.txt').write_text('u'); print('ok', flush=True); "
              "import time; time.sleep(60)")
    kernel = subprocess.Popen([os.sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert kernel.stdout.readline().strip() == "ok"
    kernel.kill()
    kernel.wait()
    m = drive.mount(point, remote="served", mode="mirror", force_remount=True)
    assert (m.path / "unpushed.txt").read_text() == "u"
    assert (served.folder / "unpushed.txt").read_text() == "u"
    drive.unmount(point)
    assert list(point.iterdir()) == []


@needs_fuse
def test_a_remote_that_never_answers_times_out_with_a_clear_line(served, tmp_path):
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        with served.config.open("a") as f:
            f.write(f"\n[silent]\ntype = webdav\nurl = http://127.0.0.1:{silent.getsockname()[1]}/\nvendor = rclone\n")
        started = time.monotonic()
        with pytest.raises(MountError, match=r"did not answer within 2 s .*--timeout 300.*--mode mirror"):
            drive.mount(tmp_path / "drive", remote="silent", mode="mount", timeout=2)
        assert time.monotonic() - started < 10
        assert not drive.mounts()
    finally:
        silent.close()


def test_auto_mode_falls_back_to_mirror_when_fuse_refuses(served, tmp_path, monkeypatch):
    """/dev/fuse is there but mounting is not allowed (a container without the right): auto mirrors."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name in ("fusermount3", "fusermount"):
        script = fake_bin / name
        script.write_text("#!/bin/sh\necho 'fusermount3: mount failed: Operation not permitted' >&2\nexit 1\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    m = drive.mount(tmp_path / "drive", remote="served", timeout=20)
    assert m.mode == "mirror" and "FUSE mount was refused" in m.summary(), m.summary()
    assert (m.path / "hello.txt").exists()
    with pytest.raises(MountError, match="failed"):
        drive.mount(tmp_path / "other", remote="served", mode="mount", timeout=20)  # asked for: no fallback
    drive.unmount(tmp_path / "drive")


@pytest.mark.parametrize("mode", ["mirror", "mount"])
def test_a_mount_point_whose_mydrive_holds_files_is_refused(served, tmp_path, mode):
    """An empty MyDrive/ left by an earlier mount is fine; one holding files is not: in mirror mode the
    first bisync would push those local files to the remote."""
    if mode == "mount":
        require_fuse()
    point = tmp_path / "drive"
    (point / "served").mkdir(parents=True)
    (point / "served" / "notes.txt").write_text("local only")
    with pytest.raises(MountError, match="is not empty"):
        drive.mount(point, remote="served", mode=mode)
    assert not (served.folder / "notes.txt").exists()
    assert (point / "served" / "notes.txt").read_text() == "local only"
    (point / "served" / "notes.txt").unlink()  # empty again: the earlier mount's folder is reused
    m = drive.mount(point, remote="served", mode=mode)
    assert (m.path / "hello.txt").exists()
    drive.unmount(point)
