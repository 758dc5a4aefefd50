"""Resume that refuses other data, returns finished runs, adds epochs, and a resume line that works.

Each test reproduces a case a new user met (issue: "%train on people's own data"): the printed
`--resume` line for a CSV or arrays, a CSV rewritten with random labels, `digits.npz` vs the
built-in digits, resuming a finished run, more epochs, and a step-count mismatch's real cause.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from colabmagic.errors import CheckpointError, ConfigError, TrainingInterrupted
from colabmagic.train import Callback, train
from colabmagic.train.checkpoint import checkpoint_files
from conftest import run_ok


class InterruptAt(Callback):
    """Sends this process a SIGINT at the first progress report of (epoch, step >= step)."""

    def __init__(self, epoch: int, step: int):
        self.epoch, self.step, self.sent = epoch, step, False

    def on_progress(self, progress):
        if not self.sent and progress.epoch == self.epoch and self.step <= progress.step < progress.steps_per_epoch:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def write_csv(path, *, seed=0, rows=300, shuffle_labels=False):
    """A real CSV: 6 numeric features, a label that depends on them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8).astype(int)
    if shuffle_labels:
        y = np.random.default_rng(seed + 1).permutation(y)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write(",".join(f"f{i}" for i in range(6)) + ",label\n")
        for features, label in zip(x, y):
            f.write(",".join(f"{v:.5f}" for v in features) + f",{label}\n")
    return path


@pytest.fixture
def interrupt_views(monkeypatch):
    """The magic's own views plus a deterministic interrupt after the first epoch (instead of a timer)."""
    import colabmagic.train.progress as progress

    original = progress.default_views

    class InterruptAfterFirstEpoch(Callback):  # the stop lands at epoch 2, step 1
        def on_epoch_end(self, epoch, metrics):
            if epoch == 0:
                os.kill(os.getpid(), signal.SIGINT)

    stopper = InterruptAfterFirstEpoch()
    monkeypatch.setattr(progress, "default_views", lambda quiet=False: [*original(quiet), stopper])
    return lambda: monkeypatch.setattr(progress, "default_views", original)


def printed_resume_line(out: str) -> str:
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("%train ")]
    assert lines, out
    return lines[-1]


# --- the resume line -----------------------------------------------------------------------------

def test_the_resume_line_of_a_csv_with_spaces_repeats_path_target_and_flags_and_works(
        shell, workdir, capsys, sigint, interrupt_views):
    write_csv(workdir / "my data" / "train set.csv")
    line = '%train mlp "my data/train set.csv" --target label --epochs 3 --batch-size 32 --lr 0.02 --quiet'
    assert shell.run_cell(line, store_history=False).success  # an interrupt is not an error
    resume = printed_resume_line(capsys.readouterr().out)
    assert resume == ("%train mlp 'my data/train set.csv' --target label --epochs 3 --batch-size 32 --lr 0.02 "
                      "--quiet --resume")
    interrupt_views()
    result = run_ok(shell, resume + " -o")
    assert not result.interrupted and len(result.history) == 3 and result.epochs_run == 2


def test_the_resume_line_of_notebook_arrays_names_them(shell, workdir, capsys, sigint, interrupt_views):
    rng = np.random.default_rng(0)
    shell.user_ns["X"] = rng.normal(size=(400, 5)).astype("float32")
    shell.user_ns["y"] = (shell.user_ns["X"][:, 0] > 0).astype(int)
    assert shell.run_cell("%train mlp --data X y --epochs 3 --quiet", store_history=False).success
    resume = printed_resume_line(capsys.readouterr().out)
    assert resume == "%train mlp --data X y --epochs 3 --quiet --resume"
    interrupt_views()
    assert run_ok(shell, resume + " -o").epochs_run == 2


def test_a_renamed_run_resumes_under_its_actual_name(shell, workdir, capsys, sigint, interrupt_views):
    run_ok(shell, "%train mlp digits --epochs 1 --quiet")            # runs/mlp-digits taken
    shell.run_cell("%train mlp digits --epochs 3 --quiet", store_history=False)
    out = capsys.readouterr().out
    assert "runs/mlp-digits already holds a run: this one writes to runs/mlp-digits-2" in out
    assert printed_resume_line(out) == "%train mlp digits --epochs 3 --quiet --name mlp-digits-2 --resume"


def test_the_python_api_gets_the_resume_options_and_call(workdir, sigint):
    with pytest.raises(TrainingInterrupted) as caught:
        train("mlp", "digits", epochs=3, lr=0.03, refresh_per_second=1e6, callbacks=[InterruptAt(1, 2)])
    assert caught.value.resume == {"dataset": "digits", "epochs": 3, "lr": 0.03, "refresh_per_second": 1e6,
                                   "resume": True}
    assert 'train("mlp", "digits", epochs=3, lr=0.03, refresh_per_second=1000000.0, resume=True)' in str(caught.value)
    assert caught.value.result.interrupted


# --- the way forward, in each interface's words --------------------------------------------------

def test_the_messages_about_resume_name_the_option_as_each_interface_writes_it(shell, workdir):
    with pytest.raises(CheckpointError, match=r"train once without resume=True first$"):
        train("mlp", "digits", epochs=1, resume=True)
    result = shell.run_cell("%train mlp digits --epochs 1 --resume", store_history=False)
    assert str(result.error_in_exec).endswith("train once without --resume first")
    run_ok(shell, "%train mlp digits --epochs 1 --quiet --checkpoint-dir ckpt")
    result = shell.run_cell("%train mlp digits --epochs 1 --quiet --checkpoint-dir ckpt", store_history=False)
    assert str(result.error_in_exec) == ("ckpt already holds checkpoints of an earlier run: pass --resume to "
                                         "continue it, or choose another --checkpoint-dir")
    path = write_csv(workdir / "train.csv")
    run_ok(shell, f"%train mlp {path} --target label --epochs 1 --quiet")
    write_csv(path, shuffle_labels=True)
    result = shell.run_cell(f"%train mlp {path} --target label --epochs 1 --quiet --resume", store_history=False)
    assert str(result.error_in_exec).endswith("or start a fresh run without --resume")


# --- resume refuses other data -------------------------------------------------------------------

def test_resume_on_a_csv_rewritten_with_random_labels_is_refused_saying_what_changed(workdir):
    path = write_csv(workdir / "train.csv")
    train("mlp", str(path), target="label", epochs=2)
    write_csv(path, shuffle_labels=True)  # same shape, same features, other labels
    before = sorted(p.name for p in (workdir / "runs").rglob("*"))
    with pytest.raises(CheckpointError, match="training labels changed"):
        train("mlp", str(path), target="label", epochs=4, resume=True)
    assert sorted(p.name for p in (workdir / "runs").rglob("*")) == before


def test_resume_on_more_rows_names_the_shape_change(workdir):
    path = write_csv(workdir / "train.csv")
    train("mlp", str(path), target="label", epochs=1)
    write_csv(path, rows=320)
    with pytest.raises(CheckpointError, match=r"training labels changed shape: 240 then, 256 now"):
        train("mlp", str(path), target="label", resume=True)


def test_a_file_named_like_a_builtin_dataset_gets_its_own_run(workdir):
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(workdir / "digits.npz", x=digits.data[:500].astype("float32"), y=digits.target[:500])
    builtin = train("mlp", "digits", epochs=1)
    own = train("mlp", str(workdir / "digits.npz"), epochs=1)
    assert builtin.name == "mlp-digits" and own.name == "mlp-digits.npz"
    assert checkpoint_files(workdir / "runs" / "mlp-digits.npz" / "checkpoints")


# --- finished runs, more epochs, step mismatches -------------------------------------------------

def test_resume_of_a_finished_run_says_so_and_returns_the_saved_result(shell, workdir, capsys):
    first = run_ok(shell, "%train mlp digits --epochs 2 --quiet -o")
    capsys.readouterr()
    written = checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")
    again = run_ok(shell, "%train mlp digits --epochs 2 --resume --quiet -o")
    out = capsys.readouterr().out
    assert "mlp-digits had finished all 2 epochs" in out
    assert "mlp on digits (cpu, fp32): finished 2/2 epochs earlier" in str(again)
    assert again.history == first.history and again.metrics == first.metrics and again.epochs_run == 0
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())
    assert checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints") == written  # nothing new written


def test_resume_with_more_epochs_continues_a_finished_run_in_a_new_schedule_phase(workdir):
    first = train("mlp", "digits", epochs=2, seed=1)
    more = train("mlp", "digits", epochs=5, resume=True)
    assert more.epochs_run == 3 and [h["epoch"] for h in more.history] == [1, 2, 3, 4, 5]
    assert more.history[:2] == first.history
    assert more.extra["phases"] == [{"start_epoch": 0, "epochs": 2}, {"start_epoch": 2, "epochs": 3}]
    assert any("3 more epochs" in note for note in more.extra["notes"])
    # a fresh one-cycle schedule: the learning rate rises again and ends near zero
    lrs = [h["lr"] for h in more.history]
    assert lrs[2] > lrs[1] and lrs[4] < lrs[2] / 10
    assert more.metrics["test_accuracy"] >= first.metrics["test_accuracy"] - 0.02
    # and a later resume continues the second phase's schedule where it stands
    assert train("mlp", "digits", epochs=5, resume=True).epochs_run == 0


def test_more_epochs_in_the_middle_of_a_run_is_refused_with_the_way_forward(workdir, sigint):
    with pytest.raises(TrainingInterrupted):
        train("mlp", "digits", epochs=3, refresh_per_second=1e6, callbacks=[InterruptAt(1, 2)])
    with pytest.raises(ConfigError, match=r"at epoch 2 of 3: resume it without epochs= to finish it first"):
        train("mlp", "digits", epochs=6, resume=True)


def test_a_step_count_mismatch_names_its_real_cause(workdir):
    path = write_csv(workdir / "train.csv")
    train("mlp", str(path), target="label", epochs=1, batch_size=16)
    state_file = checkpoint_files(workdir / "runs" / "mlp-train.csv" / "checkpoints")[-1]
    state = torch.load(state_file, weights_only=True)
    state["dataset"]["train_size"] = 999      # as if the run had been trained on a larger split
    state["steps_per_epoch"] = 63
    torch.save(state, state_file)
    with pytest.raises(CheckpointError, match="had 999 examples then and has 240 now"):
        train("mlp", str(path), target="label", epochs=2, resume=True)
