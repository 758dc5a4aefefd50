"""The mount record's contract, both directions (DESIGN §3): the kernel writes it, the watchdog and a
later kernel read it. Unknown keys are ignored, a newer major version is refused in one line, and
what the code wrote before records carried a version is still read, and acted on.
No rclone and no network here: the records, real processes, and the checks a mount runs first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from colabmagic import drive
from colabmagic.drive import orphans, state, watchdog_process
from colabmagic.errors import MountError
from colabmagic.processes import ProcessIdentity


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def mount_record(root: Path, **values) -> state.MountRecord:
    return state.MountRecord.of_this_kernel(root, root / "served", "mount", remote="served:", pid=4242,
                                            pid_start=17, socket="/run/rc.sock", runtime="/run", **values)


def sleeper(*words: str) -> subprocess.Popen:
    """A real process whose command line holds WORDS (as a watchdog's holds its module)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *words])


def test_what_the_kernel_writes_the_watchdog_and_a_later_kernel_read(folder):
    root = folder / "drive"
    record = mount_record(root, watchdog=4343, watchdog_start=18)
    path = state.write(root, record)
    assert path.parent == folder / "state" / "colabmagic-mounts" and path.stat().st_mode & 0o777 == 0o600
    raw = json.loads(path.read_text())
    assert raw["record_format"] == "colabmagic-mount" and raw["record_version"] == state.VERSION
    assert raw["owner"] == os.getpid() and raw["mountpoint"] == str(root)
    # version 1's keys: renaming or dropping one is a new major version (older readers would misread it)
    assert set(raw) == {"record_format", "record_version", "mountpoint", "path", "mode", "owner", "owner_start",
                        "remote", "readonly", "pid", "pid_start", "socket", "runtime", "workdir", "watchdog",
                        "watchdog_start"}
    assert state.read(root) == record and record.kernel == ProcessIdentity.of(os.getpid())
    assert state.update(root, watchdog=None, watchdog_start=None) == path
    assert state.read(root).watchdog is None
    state.remove(root)
    assert state.read(root) is None and state.update(root, watchdog=1) is None


def test_keys_a_newer_minor_version_added_are_ignored(folder):
    root = folder / "drive"
    path = state.write(root, mount_record(root))
    path.write_text(json.dumps({**json.loads(path.read_text()), "added_later": {"any": "thing"}}))
    assert state.read(root) == mount_record(root)


def test_a_newer_major_version_is_refused_in_one_line_by_the_kernel(folder, shell):
    root = folder / "drive"
    path = state.write(root, mount_record(root))
    path.write_text(json.dumps({**json.loads(path.read_text()), "record_version": state.VERSION + 1}))
    with pytest.raises(MountError, match="newer colabmagic") as info:
        state.read(root)
    assert "\n" not in str(info.value)
    key = folder / "sa.json"  # credentials that resolve without the network: the record is read next
    key.write_text(json.dumps({"type": "service_account"}))
    key.chmod(0o600)
    result = shell.run_cell(f"%mount_drive {root} --service-account {key}", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "newer colabmagic" in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    assert path.exists() and not (root / "MyDrive").exists()  # nothing touched


def test_the_watchdog_leaves_a_record_that_is_not_its_kernels(folder):
    """It returns at once, cleaning up nothing: the record names another kernel, is gone, or is newer."""
    root = folder / "drive"
    me = ProcessIdentity.of(os.getpid())
    watchdog_process.watch(root, me)  # no record: unmounted normally
    state.write(root, mount_record(root))
    watchdog_process.watch(root, ProcessIdentity(me.pid, me.start + 1))  # mounted again by another kernel
    path = state.record_path(root)
    path.write_text(json.dumps({**json.loads(path.read_text()), "record_version": state.VERSION + 1}))
    watchdog_process.watch(root, me)
    assert path.exists()


@pytest.mark.parametrize("change", [{"owner": "7"}, {"owner": True}, {"mode": "fuse"}, {"pid": -1},
                                    {"readonly": "no"}, {"socket": 5}, {"mountpoint": None}])
def test_a_field_of_the_wrong_shape_is_no_record(folder, change):
    root = folder / "drive"
    path = state.write(root, mount_record(root))
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    assert state.read(root) is None


def test_a_record_written_before_records_had_a_version_is_read(folder):
    """The keys as the code before versioned records wrote them (no start times for rclone and the
    watchdog): version 1's record, with those two known by their command line."""
    root = folder / "drive"
    owner = ProcessIdentity.of(os.getpid())
    old_watchdog, stranger = sleeper(state.OLD_WATCHDOG_COMMAND, str(root)), sleeper()
    try:
        mirror = {"mountpoint": str(root), "path": str(root / "MyDrive"), "mode": "mirror", "owner": owner.pid,
                  "owner_start": owner.start, "remote": ":drive:", "workdir": "/cache/bisync-1", "readonly": False,
                  "watchdog": old_watchdog.pid}
        state.record_path(root).parent.mkdir(parents=True)
        state.record_path(root).write_text(json.dumps(mirror))
        record = state.read(root)
        assert (record.mode, record.workdir, record.kernel) == ("mirror", "/cache/bisync-1", owner)
        assert record.watchdog_process() == ProcessIdentity.of(old_watchdog.pid)
        mount = {"mountpoint": str(root), "path": str(root / "served"), "mode": "mount", "owner": owner.pid,
                 "owner_start": owner.start, "pid": stranger.pid, "socket": "/run/rc.sock", "runtime": "/run",
                 "remote": "served:", "readonly": True}
        state.record_path(root).write_text(json.dumps(mount))
        record = state.read(root)
        assert (record.mode, record.socket, record.readonly, record.watchdog) == ("mount", "/run/rc.sock", True, None)
        assert record.rclone_process() is None  # that pid runs something else than rclone: not ours to end
    finally:
        for process in (old_watchdog, stranger):
            process.kill()
            process.wait()


def test_a_pid_is_the_recorded_process_only_with_its_start_time(folder):
    """A reused pid (same number, another start) is not the watchdog: stopping a mount left behind
    must not signal it."""
    root = folder / "drive"
    bystander = sleeper()
    try:
        start = ProcessIdentity.of(bystander.pid).start
        record = mount_record(root, watchdog=bystander.pid, watchdog_start=start + 1)
        assert record.watchdog_process() is None
        orphans.stop_watchdog_of(record)
        assert bystander.poll() is None
        orphans.stop_watchdog_of(mount_record(root, watchdog=bystander.pid, watchdog_start=start))
        assert bystander.wait(10) is not None  # the very process: ended
    finally:
        bystander.kill()
        bystander.wait()


def test_a_later_kernel_acts_on_a_mirror_an_older_kernel_left(folder, shell):
    """The record as the code before versions wrote it, of a kernel that exited: the next mount
    refuses in one line, naming the dead kernel and --force-remount."""
    root, dead = folder / "drive", subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                                  capture_output=True, text=True, check=True)
    (root / "MyDrive").mkdir(parents=True)
    (root / "MyDrive" / "unpushed.txt").write_text("u")
    state.record_path(root).parent.mkdir(parents=True)
    state.record_path(root).write_text(json.dumps({
        "mountpoint": str(root), "path": str(root / "MyDrive"), "mode": "mirror", "owner": int(dead.stdout),
        "owner_start": 1, "remote": ":drive:", "workdir": str(folder / "bisync"), "readonly": False}))
    key = folder / "sa.json"
    key.write_text(json.dumps({"type": "service_account"}))
    key.chmod(0o600)
    result = shell.run_cell(f"%mount_drive {root} --service-account {key} --mode mirror", store_history=False)
    message = str(result.error_in_exec)
    assert type(result.error_in_exec) is UsageError and "\n" not in message
    assert f"mirror left by a kernel that exited (pid {int(dead.stdout)})" in message and "--force-remount" in message
    assert (root / "MyDrive" / "unpushed.txt").read_text() == "u" and drive.mounts() == []
