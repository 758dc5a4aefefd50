"""Checkpoints that survive a dead kernel: files, SIGKILL mid-epoch + resume, interrupts, bad checkpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from colabmagic.errors import CheckpointError, ConfigError, TrainingInterrupted
from colabmagic.train import Callback, train
from colabmagic.train.checkpoint import FORMAT, REQUIRED_KEYS, checkpoint_files

# A small run with many mid-epoch checkpoints: ~45 steps/epoch, a checkpoint every ~6 ms.
RUN = dict(epochs=3, batch_size=32, checkpoint_every=1e-4, keep_checkpoints=0, seed=5)


def weights(result):
    return [t.clone() for t in result.model.state_dict().values()]


def without_time(history):
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in history]


def test_checkpoint_files_are_whole_and_loadable(workdir):
    result = train("mlp", "digits", epochs=2, keep_checkpoints=2)
    folder = workdir / "runs" / "mlp-digits" / "checkpoints"
    files = checkpoint_files(folder)
    assert files and files[-1].name == "epoch0002-step000000.pt"
    assert files[-1] == workdir / result.checkpoint_path
    assert not list(folder.glob("*.part"))
    state = torch.load(files[-1], weights_only=True)  # no pickle code needed to read it
    assert state["format"] == FORMAT and set(REQUIRED_KEYS) <= set(state)
    assert (state["epoch"], state["step"]) == (2, 0)
    assert state["template"] == "mlp" and state["dataset"]["name"] == "digits"
    assert len(state["history"]) == 2


def test_keep_checkpoints_keeps_the_newest(workdir):
    train("mlp", "digits", epochs=2, checkpoint_every=1e-4, keep_checkpoints=3)
    files = checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")
    assert len(files) == 3
    assert files[-1].name == "epoch0002-step000000.pt"


def test_a_fresh_run_never_mixes_with_an_earlier_one(workdir):
    first = train("mlp", "digits", epochs=1)
    second = train("mlp", "digits", epochs=1)
    assert first.name == "mlp-digits" and second.name == "mlp-digits-2"
    assert (workdir / "runs" / "mlp-digits-2" / "checkpoints").is_dir()


KILLED_CHILD = """
import os, signal, sys
from colabmagic.train import Callback, train

class DieAtAMidEpochCheckpoint(Callback):
    # SIGKILL: no handler, no cleanup, no flush: what the OOM killer or a dead runtime does
    def on_checkpoint(self, path):
        name = os.path.basename(path)
        epoch, step = int(name[5:9]), int(name[14:20])
        if epoch >= 1 and step >= 10:
            os.kill(os.getpid(), signal.SIGKILL)

train("cnn", "digits", callbacks=[DieAtAMidEpochCheckpoint()], **{run!r})
print("NOT KILLED")
"""


def test_sigkill_mid_epoch_then_resume_matches_the_uninterrupted_run(workdir):
    child = subprocess.run([sys.executable, "-c", KILLED_CHILD.format(run=RUN)], capture_output=True, text=True,
                           timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    folder = workdir / "runs" / "cnn-digits" / "checkpoints"
    newest = checkpoint_files(folder)[-1]
    assert newest.name.startswith("epoch0001-") and not newest.name.endswith("step000000.pt")  # mid-epoch

    resumed = train("cnn", "digits", resume=True, **RUN)
    assert resumed.name == "cnn-digits"
    assert resumed.epochs_run == 2  # the rest of epoch 2, then epoch 3
    reference = train("cnn", "digits", name="reference", **RUN)
    assert without_time(resumed.history) == without_time(reference.history)
    assert resumed.metrics == reference.metrics
    for a, b in zip(weights(resumed), weights(reference)):
        assert torch.equal(a, b)


def test_interrupt_checkpoints_says_how_to_resume_and_resume_is_exact(workdir):
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may start with SIGINT ignored

    class InterruptMidEpoch(Callback):
        def on_progress(self, progress):
            if progress.epoch == 1 and progress.step >= 10:
                os.kill(os.getpid(), signal.SIGINT)  # the notebook's stop button

    with pytest.raises(TrainingInterrupted) as caught:
        train("mlp", "digits", refresh_per_second=1000, callbacks=[InterruptMidEpoch()], **RUN)
    message = str(caught.value)
    assert "%train mlp digits --resume" in message and 'train("mlp", "digits", resume=True)' in message
    partial = caught.value.result
    assert partial.interrupted and os.path.exists(partial.checkpoint_path)
    assert partial.checkpoint_path in message

    resumed = train("mlp", "digits", resume=True, **RUN)
    reference = train("mlp", "digits", name="reference", **RUN)
    assert without_time(resumed.history) == without_time(reference.history)
    for a, b in zip(weights(resumed), weights(reference)):
        assert torch.equal(a, b)


def test_the_magic_turns_an_interrupt_into_one_line(workdir):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    signal.signal(signal.SIGINT, signal.default_int_handler)
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext colabmagic", store_history=False)
    shell.user_ns["stop"] = lambda *_: os.kill(os.getpid(), signal.SIGINT)
    try:
        # an interrupt arriving while %train runs (here: from a timer thread, as the kernel's would)
        cell = textwrap.dedent("""
            import threading
            threading.Timer(0.3, stop).start()
            %train mlp digits --epochs 400 --quiet
        """)
        result = shell.run_cell(cell, store_history=False)
    finally:
        shell.run_cell("%unload_ext colabmagic", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "--resume" in str(result.error_in_exec)
    assert checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")


def test_resume_with_nothing_to_resume(workdir):
    with pytest.raises(CheckpointError, match="train once without resume"):
        train("mlp", "digits", resume=True)


def test_a_corrupt_newest_checkpoint_is_an_error_not_a_fresh_start(workdir):
    train("mlp", "digits", epochs=1)
    newest = checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")[-1]
    newest.write_bytes(newest.read_bytes()[:1000])  # what a full disk leaves (were it not atomic)
    with pytest.raises(CheckpointError, match="corrupt"):
        train("mlp", "digits", epochs=2, resume=True)


def test_a_foreign_file_named_like_a_checkpoint_is_refused(workdir):
    train("mlp", "digits", epochs=1)
    folder = workdir / "runs" / "mlp-digits" / "checkpoints"
    torch.save({"weights": torch.zeros(3)}, folder / "epoch0009-step000000.pt")
    with pytest.raises(CheckpointError, match="not a colabmagic training checkpoint"):
        train("mlp", "digits", epochs=2, resume=True)


def test_resume_refuses_changes_to_what_the_run_learns(workdir):
    train("mlp", "digits", epochs=1, lr=0.05)
    for option, value in (("lr", 0.1), ("batch_size", 32), ("epochs", 2), ("seed", 1)):
        with pytest.raises(ConfigError, match=f"trained with {option}="):
            train("mlp", "digits", resume=True, **{option: value})
    # where and how it runs may change; a finished run resumes to its end at once
    resumed = train("mlp", "digits", resume=True, checkpoint_every=5, refresh_per_second=2)
    assert len(resumed.history) == 1 and resumed.epochs_run == 0


def test_resume_refuses_another_model_or_dataset(workdir):
    train("mlp", "digits", epochs=1, name="run")
    with pytest.raises(CheckpointError, match="model 'mlp'"):
        train("cnn", "digits", resume=True, name="run")
    import numpy as np

    rng = np.random.default_rng(0)
    with pytest.raises(CheckpointError, match="trained on digits"):
        train("mlp", data=(rng.normal(size=(100, 64)), rng.integers(0, 10, 100)), resume=True, name="run")
