"""Whole-or-nothing files: a writer failing half-way leaves the old file (or none) and no NAME.part,
readers never see a torn file, and the data is on disk (fsync) before the rename makes it visible.

os.fsync and os.replace are wrapped to record what they were called on and in which order; they
still do their real work. The same checks run through save_checkpoint, the biggest user.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from colabmagic.files import write_atomically

OLD = b"old contents, whole\n"
NEW = b"new contents " * 10_000  # > one buffer: a half-way failure really has written part of it


class DiskFull(OSError):
    pass


def half_then_fail(error: BaseException):
    def write(file):
        file.write(NEW[: len(NEW) // 2])
        file.flush()  # the half is really in the file on disk, as a crash mid-write would leave it
        raise error
    return write


@pytest.fixture
def calls(monkeypatch):
    """[(what, detail)] for every fsync (what the fd is and how big) and replace, in call order."""
    log: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        kind = "folder" if os.path.stat.S_ISDIR(st.st_mode) else "file"
        log.append(("fsync", (kind, st.st_ino, st.st_size)))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        log.append(("replace", (Path(src), Path(dst), os.stat(src).st_ino)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return log


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- a failing writer ------------------------------------------------------------------------------

@pytest.mark.parametrize("error", [DiskFull(28, "No space left on device"), KeyboardInterrupt()])
def test_a_writer_failing_half_way_leaves_the_old_file_and_no_part(tmp_path, error):
    path = tmp_path / "model.pt"
    path.write_bytes(OLD)
    with pytest.raises(type(error)):
        write_atomically(path, half_then_fail(error))
    assert path.read_bytes() == OLD
    assert leftovers(tmp_path) == ["model.pt"]


@pytest.mark.parametrize("error", [DiskFull(28, "No space left on device"), KeyboardInterrupt()])
def test_a_writer_failing_half_way_leaves_no_file_and_no_part(tmp_path, error):
    path = tmp_path / "model.pt"
    with pytest.raises(type(error)):
        write_atomically(path, half_then_fail(error))
    assert leftovers(tmp_path) == []


def test_while_writing_readers_see_the_old_file_whole(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(OLD)
    seen = []

    def write(file):
        file.write(NEW[:100])
        file.flush()
        seen.append(path.read_bytes())  # a reader in the middle of the write
        file.write(NEW[100:])

    write_atomically(path, write)
    assert seen == [OLD]
    assert path.read_bytes() == NEW
    assert leftovers(tmp_path) == ["state.json"]


def test_a_successful_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(OLD)
    assert write_atomically(path, lambda file: file.write(NEW)) == path
    assert path.read_bytes() == NEW
    assert leftovers(tmp_path) == ["state.json"]


# --- durability: fsync of the data, then the rename, then the folder --------------------------------

def check_durable_order(calls, path: Path, size: int) -> None:
    replaces = [detail for what, detail in calls if what == "replace"]
    assert len(replaces) == 1, calls
    src, dst, inode = replaces[0]
    assert src.parent == path.parent and src.name.startswith(path.name + ".") and src.suffix == ".part"
    assert dst == path
    at = calls.index(("replace", replaces[0]))
    # the written file itself, with all its bytes flushed to the OS, was fsynced before the rename
    assert ("fsync", ("file", inode, size)) in calls[:at], calls
    # and the folder after it, so the rename survives a power cut
    assert any(what == "fsync" and detail[0] == "folder" for what, detail in calls[at + 1:]), calls


def write_in_small_pieces(file):
    for start in range(0, len(NEW), 1000):  # small writes: the last ones wait in Python's buffer
        file.write(NEW[start:start + 1000])


def test_data_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, calls):
    path = tmp_path / "model.pt"
    write_atomically(path, write_in_small_pieces)
    check_durable_order(calls, path, len(NEW))


def test_a_failed_write_renames_nothing(tmp_path, calls):
    path = tmp_path / "model.pt"
    with pytest.raises(DiskFull):
        write_atomically(path, half_then_fail(DiskFull(28, "No space left on device")))
    assert [what for what, _ in calls if what == "replace"] == []


# --- the same through checkpoints ------------------------------------------------------------------

def test_a_checkpoint_failing_half_way_leaves_the_earlier_ones_and_no_part(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from colabmagic.train.checkpoint import checkpoint_files, save_checkpoint

    first = save_checkpoint(tmp_path, {"epoch": 1, "step": 0, "weights": torch.ones(3)}, keep=0)
    real_save = torch.save

    def save_half(obj, file, *args, **kwargs):
        real_save(obj, file, *args, **kwargs)
        file.truncate(file.tell() // 2)
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_half)
    from colabmagic.errors import CheckpointError

    with pytest.raises(CheckpointError, match=r"\(No space left on device; .* MiB free there\)"):
        save_checkpoint(tmp_path, {"epoch": 2, "step": 0, "weights": torch.zeros(3)}, keep=1)
    assert leftovers(tmp_path) == [first.name]
    assert checkpoint_files(tmp_path) == [first]
    assert torch.equal(torch.load(first, weights_only=True)["weights"], torch.ones(3))


def test_a_checkpoint_is_fsynced_before_its_rename(tmp_path, calls):
    torch = pytest.importorskip("torch")
    from colabmagic.train.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path, {"epoch": 1, "step": 5, "weights": torch.arange(1000.0)}, keep=0)
    check_durable_order(calls, path, path.stat().st_size)


# --- two writers, and names another process planted --------------------------------------------

RACER = """
import sys
from pathlib import Path
from colabmagic.files import write_atomically
path, me = Path(sys.argv[1]), sys.argv[2]
for i in range(300):
    write_atomically(path, lambda f: f.write((me * 4096).encode()))
print("done", flush=True)
"""


def test_writers_in_several_processes_never_collide(tmp_path):
    """Four processes rewrite one file 300 times each: every write succeeds (no shared .part to be
    renamed from under another writer), a reader only ever sees one writer's whole file, and no
    .part is left."""
    import subprocess
    import sys

    path = tmp_path / "state.json"
    path.write_text("0" * 4096)
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(path), str(n)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for n in range(1, 5)]
    seen = set()
    while any(r.poll() is None for r in racers):
        text = path.read_text()
        assert len(text) == 4096 and len(set(text)) == 1, "a torn file"
        seen.add(text[0])
    outputs = [r.communicate() for r in racers]
    assert all(r.returncode == 0 for r in racers), [err for _, err in outputs]
    assert all(out.strip() == "done" for out, _ in outputs)
    assert leftovers(tmp_path) == ["state.json"]
    assert len(seen) > 1  # the writers really overlapped


@pytest.mark.parametrize("planted", ["symlink", "file", "fifo"])
def test_a_name_planted_beside_the_file_is_never_opened_or_followed(tmp_path, planted):
    """Whatever waits at the old fixed name NAME.part (a symlink to another file, a file, a FIFO that
    would block an open) is left alone: the write uses a new name of its own."""
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    path = tmp_path / "secrets.json"
    part = tmp_path / "secrets.json.part"
    if planted == "symlink":
        part.symlink_to(victim)
    elif planted == "file":
        part.write_text("planted")
    else:
        os.mkfifo(part)
    write_atomically(path, lambda f: f.write(NEW))
    assert path.read_bytes() == NEW and not path.is_symlink()
    assert victim.read_text() == "the user's own file"
    assert part.is_symlink() or part.exists()  # not ours: not removed either


FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
import torch
from colabmagic.errors import CheckpointError
from colabmagic.train.checkpoint import checkpoint_files, save_checkpoint
folder = Path(sys.argv[1])
first = save_checkpoint(folder, {"epoch": 1, "step": 0, "weights": torch.ones(3)}, keep=0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
try:
    save_checkpoint(folder, {"epoch": 2, "step": 0, "weights": torch.zeros(1 << 20)}, keep=1)
except CheckpointError as err:
    print("refused:", str(err).splitlines()[0][:120])
import json
print(json.dumps([[p.name for p in sorted(folder.iterdir())], [p.name for p in checkpoint_files(folder)], first.name]))
"""


def test_a_checkpoint_the_os_cuts_off_half_way_leaves_the_earlier_one(tmp_path):
    """Without root (no small tmpfs) and without a mock: the OS refuses the write past a file-size
    limit half-way through a 4 MB checkpoint (EFBIG). The earlier checkpoint stays, nothing partial."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT, str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    refused, listing = out.stdout.strip().splitlines()
    assert refused.startswith("refused:")
    import json

    names, checkpoints, first = json.loads(listing)
    assert names == checkpoints == [first]
