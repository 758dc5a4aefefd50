"""Memory, run folders and training health: refused up front in one line, or said while it runs."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError

from colabmagic.errors import ConfigError, DataError, TrainingDiverged
from colabmagic.train import train
from colabmagic.train.checkpoint import checkpoint_files
from conftest import run_ok


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- memory --------------------------------------------------------------------------------------

def test_a_run_that_cannot_fit_in_memory_is_refused_before_the_first_step(shell, workdir):
    # 16 photos kept at 1024x1024 (not resized to 32x32): resnet9 keeps GBs of activations per example
    shell.user_ns["photos"] = torch.zeros(16, 3, 1024, 1024, dtype=torch.uint8)
    shell.user_ns["labels"] = np.arange(16) % 2
    message = usage_error(shell, "%train resnet9 --data photos labels --image-size 1024 --batch-size 512 --epochs 1")
    assert message.startswith("This run needs ~") and "would not fit" in message
    assert "--batch-size" in message and "batch_size=" not in message  # the magic speaks flags
    assert not (workdir / "runs").exists()


def test_the_python_api_words_the_same_refusal_with_keywords(workdir):
    with pytest.raises(ConfigError, match=r"would not fit: try a smaller batch_size="):
        train("resnet9", data=(torch.zeros(16, 3, 1024, 1024, dtype=torch.uint8), np.arange(16) % 2),
              image_size="1024", batch_size=512, epochs=1)


def test_a_refused_run_never_builds_its_model(workdir):
    # cnn on 2048x2048 images has a 4 GiB dense layer: the refusal comes from its meta-device skeleton,
    # so the process never holds those weights (it did: 16 s and 3.7 GiB for %train cnn at 1500x2000)
    import psutil

    from colabmagic.train.data.dataset import DataSpec
    from colabmagic.train.memory import reset_peak_rss, run_peak_rss, skeleton
    from colabmagic.train.models import build_model

    cnn = skeleton(lambda spec: build_model("cnn", spec), DataSpec("image", (1, 2048, 2048), 2, None))
    model_bytes = sum(p.numel() * p.element_size() for p in cnn.parameters())
    assert model_bytes > 4 * 2**30 - 2**20 and all(p.is_meta for p in cnn.parameters())
    photos, labels = torch.zeros(48, 1, 2048, 2048, dtype=torch.uint8), np.arange(48) % 2  # 192 MiB
    before = psutil.Process().memory_info().rss
    reset_peak_rss()
    with pytest.raises(ConfigError, match=r"^This run needs ~\d+\.\d GiB RAM .*model\+optimizer 12\.0 GiB.*would not fit"):
        train("cnn", data=(photos, labels), image_size="2048", batch_size=512, epochs=1, device="cpu")
    assert run_peak_rss() - before < model_bytes / 4
    assert not (workdir / "runs").exists()


@pytest.mark.parametrize("name, spec", [
    ("mlp", ("image", (3, 32, 32), 10, None)), ("mlp", ("tabular", (12,), 3, None)), ("cnn", ("image", (3, 32, 32), 10, None)),
    ("resnet9", ("image", (3, 32, 32), 10, None)), ("resnet18", ("image", (3, 32, 32), 10, None)),
    ("lstm", ("text", (64,), 2, 1000)), ("transformer", ("text", (64,), 2, 1000)),
])
def test_every_template_runs_as_a_skeleton_on_the_meta_device(name, spec):
    # the memory estimate of a large input relies on it: a template that could not would be built for real
    from colabmagic.train.data.dataset import DataSpec
    from colabmagic.train.memory import skeleton
    from colabmagic.train.models import build_model

    data_spec = DataSpec(*spec)
    model = skeleton(lambda s: build_model(name, s), data_spec).eval()
    dtype = torch.long if data_spec.kind == "text" else torch.float32
    with torch.no_grad():
        out = model(torch.zeros((2, *data_spec.input_shape), dtype=dtype, device="meta"))
    assert out.shape == (2, data_spec.num_classes) and out.is_meta
    assert all(t.is_meta for t in [*model.parameters(), *model.buffers()])


# --- run folders ---------------------------------------------------------------------------------

def test_a_logdir_that_is_a_file_is_one_line_naming_it_and_the_flag(shell, workdir):
    (workdir / "taken").write_text("not a folder")
    message = usage_error(shell, "%train mlp digits --epochs 1 --logdir taken/run")
    assert "taken/run" in message and "taken is a file" in message and "--logdir" in message
    assert files_under(workdir) == ["taken"]


@pytest.fixture
def read_only_folder(tmp_path):
    """A working folder nobody may write in: a read-only tmpfs for root (who ignores permissions), else 0555."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_working_folder_is_one_line_naming_the_folder(shell, read_only_folder, monkeypatch):
    monkeypatch.chdir(read_only_folder)
    message = usage_error(shell, "%train mlp digits --epochs 1 --quiet")
    assert message.startswith("Cannot create the run folder runs/mlp-digits: cannot write in .")
    assert "--logdir" in message
    assert os.listdir(read_only_folder) == []


def test_a_logdir_that_cannot_be_made_is_one_line_naming_it_and_the_flag(shell, workdir):
    # /proc passes the pre-check (it exists and root may write) but refuses mkdir: only making it shows
    message = usage_error(shell, "%train mlp digits --epochs 1 --quiet --logdir /proc/colabmagic-run")
    assert message == "Cannot create the run folder /proc/colabmagic-run: No such file or directory. Choose another --logdir"
    assert files_under(workdir) == []


def test_a_checkpoint_dir_that_cannot_be_made_names_its_own_option(workdir):
    with pytest.raises(ConfigError, match=r"^Cannot create the run folder /proc/colabmagic-ckpt: .*checkpoint_dir=$"):
        train("mlp", "digits", epochs=1, checkpoint_dir="/proc/colabmagic-ckpt")
    assert files_under(workdir) == []  # the default logdir runs/mlp-digits it had made is gone again


def test_a_checkpoint_dir_that_is_a_file_names_the_checkpoint_dir_flag(shell, workdir):
    (workdir / "afile").write_text("not a folder")
    message = usage_error(shell, "%train mlp digits --epochs 1 --checkpoint-dir afile")
    assert message == "Cannot create the run folder afile: afile is a file. Choose another --checkpoint-dir"


def small_tmpfs(tmp_path, name: str, options: str):
    """A real tmpfs mounted at tmp_path/name for the test, unmounted after (needs root; skipped elsewhere)."""
    folder = tmp_path / name
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def full_disk(tmp_path):
    """Three inodes: its root and two folders, so runs/NAME fits and runs/NAME/checkpoints does not."""
    yield from small_tmpfs(tmp_path, "full", "size=1m,nr_inodes=3")


def test_a_full_disk_is_one_line_and_leaves_no_half_made_folders(shell, full_disk, monkeypatch):
    monkeypatch.chdir(full_disk)
    message = usage_error(shell, "%train mlp digits --epochs 1 --quiet")
    assert message == ("Cannot create the run folder runs/mlp-digits/checkpoints: No space left on device. "
                       "Choose another --logdir")
    assert os.listdir(full_disk) == []  # runs/ and runs/mlp-digits, made before the failure, are removed


# --- training health -----------------------------------------------------------------------------

def test_a_nan_loss_stops_at_once_with_the_step_and_lower_lr(shell, workdir):
    message = usage_error(shell, "%train mlp digits --lr 1e6 --epochs 50 --quiet")
    assert message.startswith("The loss became nan") or message.startswith("The loss became infinite")
    assert "epoch 1, step" in message and "lower --lr" in message
    # no checkpoint holds the broken weights
    assert not checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")


def test_the_python_api_raises_training_diverged(workdir):
    with pytest.raises(TrainingDiverged, match="lower lr="):
        train("mlp", "digits", lr=1e6, epochs=50)


def test_a_single_class_target_is_refused(workdir):
    x = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    with pytest.raises(DataError, match="single class"):
        train("mlp", data=(x, np.zeros(50, dtype=int)), epochs=1)
    assert not (workdir / "runs").exists()


def test_a_split_with_a_handful_of_examples_warns(shell, workdir, capsys):
    rng = np.random.default_rng(0)
    shell.user_ns["X"] = rng.normal(size=(40, 4)).astype("float32")
    shell.user_ns["y"] = (shell.user_ns["X"][:, 0] > 0).astype(int)
    result = run_ok(shell, "%train mlp --data X y --epochs 1 --quiet -o")
    assert "the test split has only 8 examples" in capsys.readouterr().out
    assert any("only 8 examples" in note for note in result.extra["notes"])


def test_peak_memory_is_this_runs_not_the_processs_lifetime(workdir):
    from colabmagic.train.device import peak_rss

    ballast = np.ones(2**30 // 8)  # 1 GiB touched, then freed: the process's peak is now 1 GiB higher
    del ballast
    lifetime_peak = peak_rss()
    result = train("mlp", "digits", epochs=1)
    assert result.peak_rss_bytes < lifetime_peak - 512 * 2**20


@pytest.fixture
def small_disk(tmp_path):
    """64 KiB: a folder fits, a cnn checkpoint (~100 KiB) does not."""
    yield from small_tmpfs(tmp_path, "small", "size=64k")


def test_a_checkpoint_that_does_not_fit_is_one_line_and_leaves_no_part_file(shell, small_disk, workdir):
    # torch.save reports the failed write as "[enforce fail at inline_container.cc] unexpected pos ..."
    message = usage_error(shell, f"%train cnn digits --epochs 1 --quiet --checkpoint-dir {small_disk / 'ck'}")
    assert message.startswith(f"Cannot write a checkpoint in {small_disk / 'ck'} (")
    assert "MiB free there): free some space, or choose another --checkpoint-dir" in message
    assert os.listdir(small_disk / "ck") == []  # no .part, no half checkpoint


def test_the_estimate_counts_images_as_the_run_will_hold_them(monkeypatch):
    """uint8 images that would take more than 40 % of the memory as float32 stay uint8 on the device
    (a quarter of the bytes): the estimate counted them as float32 anyway and refused runs that fit."""
    import torch

    from colabmagic.train import memory
    from colabmagic.train.data.dataset import Dataset
    from colabmagic.train.models import build_model

    x = torch.zeros(1000, 3, 32, 32, dtype=torch.uint8)
    data = Dataset(name="pixels", kind="image", x_train=x, y_train=torch.zeros(1000, dtype=torch.int64),
                   x_test=None, y_test=None, num_classes=10, mean=(0.5,) * 3, std=(0.25,) * 3)
    model = memory.skeleton(lambda spec: build_model("cnn", spec), data.spec)
    labels = 1000 * 8
    roomy = memory.estimate(model, data, 64, "sgd", torch.device("cpu"))
    assert roomy.data_bytes == x.numel() * 4 + labels  # normalised up front: float32
    monkeypatch.setattr(memory, "memory_budget", lambda device: x.numel() * 4)  # float32 would take 100 %
    assert memory.images_stay_raw(data, torch.device("cpu"))
    tight = memory.estimate(model, data, 64, "sgd", torch.device("cpu"))
    assert tight.data_bytes == x.numel() + labels  # kept uint8, as DeviceData keeps them


def test_pytorchs_own_cache_counts_as_free_gpu_memory(monkeypatch):
    """mem_get_info counts what PyTorch cached for an earlier run as used: a second %train in the same
    kernel was refused. torch.cuda answers here as a GPU with 6 GiB cached would (no GPU exists here)."""
    import torch

    from colabmagic.train import memory

    GiB = 2**30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2 * GiB, 16 * GiB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 7 * GiB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: 1 * GiB)
    assert memory.free_bytes(torch.device("cuda", 0)) == 8 * GiB
