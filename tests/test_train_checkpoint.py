"""Checkpoints: their files and contents, keep-last-K, run folders, a SIGKILLed run and an
interrupted run that resume bit-exactly, and every kind of bad checkpoint refused loudly.

Nothing here depends on timing: a tiny `checkpoint_every` makes the loop checkpoint after every
step, and the runs stop themselves from a callback at a chosen checkpoint or progress report.
Runs compared bit for bit say device="cpu": exact resume is a CPU promise.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from colabmagic.errors import CheckpointError, ConfigError, TrainingInterrupted
from colabmagic.train import Callback, train
from colabmagic.train.checkpoint import FORMAT, REQUIRED_KEYS, VERSION, checkpoint_files

EVERY_STEP = 1e-7  # minutes: shorter than any training step, so every step ends with a checkpoint
NAME = re.compile(r"epoch(\d{4})-step(\d{6})\.pt")


def position(path) -> tuple[int, int]:
    """(epoch in progress, steps done in it) from a checkpoint's file name."""
    match = NAME.fullmatch(os.path.basename(path))
    assert match, path
    return int(match.group(1)), int(match.group(2))


def timeless(history):
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in history]


def assert_same_run(resumed, reference):
    """The resumed run ended where the uninterrupted one did, bit for bit."""
    assert timeless(resumed.history) == timeless(reference.history)
    assert resumed.metrics == reference.metrics
    mine, theirs = resumed.model.state_dict(), reference.model.state_dict()
    assert list(mine) == list(theirs)
    for key in mine:
        assert torch.equal(mine[key], theirs[key]), key


def snapshot(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Every folder and file under `folder`, files with size and modification time: to prove nothing
    was written, not even an empty run folder."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


class Checkpoints(Callback):
    def __init__(self):
        self.paths: list[str] = []

    def on_checkpoint(self, path):
        self.paths.append(path)


@pytest.fixture
def sigint():
    """A known SIGINT handler during the test (the loop must put it back), restored afterwards; a
    runner started in the background may have SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


# --- files and folders --------------------------------------------------------------------------

def test_checkpoint_files_are_named_whole_and_hold_the_documented_state(workdir):
    recorder = Checkpoints()
    result = train("mlp", "digits", epochs=2, batch_size=128, checkpoint_every=EVERY_STEP, keep_checkpoints=0,
                   device="cpu", callbacks=[recorder])
    folder = workdir / "runs" / "mlp-digits" / "checkpoints"
    files = checkpoint_files(folder)
    steps = 12  # ceil(1437 / 128)
    assert [f.name for f in files] == sorted(f.name for f in folder.iterdir())  # nothing else in there
    assert [str(f.relative_to(workdir)) for f in files] == recorder.paths
    assert any(step for _, step in map(position, files)) and files[-1].name == "epoch0002-step000000.pt"
    assert not list(workdir.rglob("*.part"))

    train_seconds = []
    for path in files:
        epoch, step = position(path)
        state = torch.load(path, weights_only=True)  # plain data: loading runs no pickled code
        assert set(REQUIRED_KEYS) <= set(state)
        assert {"format", "version", "steps_per_epoch", "scheduler", "scaler", "sums", "history",
                "train_seconds"} <= set(state)
        assert (state["format"], state["version"]) == (FORMAT, VERSION)
        assert (state["epoch"], state["step"], state["steps_per_epoch"]) == (epoch, step, steps)
        assert state["global_step"] == epoch * steps + step
        assert state["template"] == "mlp"
        assert state["dataset"] == {"name": "digits", "kind": "image", "input_shape": [1, 8, 8], "num_classes": 10,
                                    "train_size": 1437}
        assert state["config"] == result.config
        assert list(state["model"]) == list(result.model.state_dict())
        assert {"state", "param_groups"} <= set(state["optimizer"]) and state["scheduler"] is not None
        assert state["scaler"] is None  # no fp16 on the CPU
        assert state["rng"]["torch"].dtype == torch.uint8
        assert [row["epoch"] for row in state["history"]] == list(range(1, epoch + 1))
        sums = state["sums"]
        if step:  # the epoch's running metrics so far, to report the same epoch averages on resume
            assert sums["samples"] == step * 128 and 0 <= sums["correct"] <= sums["samples"] and sums["loss_sum"] > 0
        else:
            assert sums == {"loss_sum": 0.0, "correct": 0, "samples": 0}
        train_seconds.append(state["train_seconds"])
    assert train_seconds == sorted(train_seconds)
    final = torch.load(files[-1], weights_only=True)
    assert final["history"] == result.history
    for key, value in result.model.state_dict().items():
        assert torch.equal(final["model"][key], value), key


@pytest.mark.parametrize("keep", [1, 3])
def test_keep_checkpoints_keeps_the_newest_k(workdir, keep):
    recorder = Checkpoints()
    train("mlp", "digits", epochs=2, batch_size=128, checkpoint_every=EVERY_STEP, keep_checkpoints=keep,
          callbacks=[recorder])
    assert len(recorder.paths) > keep
    remaining = checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")
    assert [str(p.relative_to(workdir)) for p in remaining] == recorder.paths[-keep:]


def test_a_fresh_run_never_writes_into_an_earlier_runs_folder(workdir):
    names = [train("mlp", "digits", epochs=1, batch_size=256).name for _ in range(3)]
    assert names == ["mlp-digits", "mlp-digits-2", "mlp-digits-3"]
    for name in names:
        assert len(checkpoint_files(workdir / "runs" / name / "checkpoints")) == 1
    # resume continues the run written last
    assert train("mlp", "digits", resume=True).name == "mlp-digits-3"


def test_an_empty_run_folder_is_reused_but_a_checkpoint_dir_in_use_is_refused(workdir):
    (workdir / "runs" / "mlp-digits").mkdir(parents=True)
    assert train("mlp", "digits", epochs=1, batch_size=256).name == "mlp-digits"
    train("mlp", "digits", epochs=1, batch_size=256, checkpoint_dir="mine")
    before = snapshot(workdir)
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        train("mlp", "digits", epochs=1, batch_size=256, checkpoint_dir="mine")
    assert snapshot(workdir) == before


def test_resume_with_nothing_to_resume_is_an_error(workdir):
    with pytest.raises(CheckpointError, match="No checkpoint to resume"):
        train("mlp", "digits", resume=True)
    assert list(workdir.iterdir()) == []
    # a folder with TensorBoard events but no checkpoint (a run killed in its first seconds)
    (workdir / "runs" / "mlp-digits").mkdir(parents=True)
    (workdir / "runs" / "mlp-digits" / "events.out.tfevents.0.host").write_bytes(b"")
    with pytest.raises(CheckpointError, match="train once without resume"):
        train("mlp", "digits", resume=True)
    assert [p.name for p in (workdir / "runs").iterdir()] == ["mlp-digits"]


# --- a run killed with SIGKILL --------------------------------------------------------------------

# cnn with dropout, BatchNorm, flip+crop augmentation and a validation split: every random stream
KILLED = dict(epochs=3, batch_size=128, augment="flip,crop", val_split=0.1, seed=5, keep_checkpoints=2, device="cpu",
              threads=1)

CHILD = """
import os, re, signal, sys
from colabmagic.train import Callback, train

class DieAtAMidEpochCheckpoint(Callback):
    # SIGKILL: no handler, no cleanup, no flush; what the OOM killer or a dead Colab runtime does
    def on_checkpoint(self, path):
        epoch, step = map(int, re.fullmatch(r"epoch(\\d+)-step(\\d+)\\.pt", os.path.basename(path)).groups())
        if epoch >= 1 and step > 0:
            print(path, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

train("cnn", "digits", checkpoint_every={every!r}, callbacks=[DieAtAMidEpochCheckpoint()], **{run!r})
print("NOT KILLED", flush=True)
"""


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_equals_the_uninterrupted_run(workdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    child = subprocess.run([sys.executable, "-c", CHILD.format(every=EVERY_STEP, run=KILLED)], cwd=workdir,
                           capture_output=True, text=True, timeout=240)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    last_announced = child.stdout.split()[-1]
    folder = workdir / "runs" / "cnn-digits" / "checkpoints"
    newest = checkpoint_files(folder)[-1]
    assert str(newest.relative_to(workdir)) == last_announced  # killed with this checkpoint the newest
    epoch, step = position(newest)
    assert epoch == 1 and 0 < step

    # what a user types after the crash: the checkpoint supplies every option
    resumed = train("cnn", "digits", resume=True)
    assert resumed.name == "cnn-digits" and resumed.config["augment"] == "flip,crop"
    assert resumed.epochs_run == 2 and len(resumed.history) == 3  # the rest of epoch 2, then epoch 3
    reference = train("cnn", "digits", name="reference", **KILLED)  # default checkpoint_every: few checkpoints
    assert_same_run(resumed, reference)
    assert position(resumed.checkpoint_path) == (3, 0)

    # TensorBoard: the dead process's epoch 1, then the resumed epochs 2-3 (its file must sort after
    # the dead one's even when both were made in the same second)
    events = EventAccumulator(resumed.logdir)
    events.Reload()
    test_accuracy = events.Scalars("accuracy/test")
    assert [e.step for e in test_accuracy] == [1, 2, 3]
    assert [e.value for e in test_accuracy] == pytest.approx([row["test_accuracy"] for row in reference.history])


def test_resuming_from_any_checkpoint_of_a_run_ends_where_the_run_ended(workdir):
    # adamw + cosine (other optimizer and scheduler state), dropout, augmentation: from every step
    options = dict(epochs=2, batch_size=256, optimizer="adamw", scheduler="cosine", augment="flip,crop1",
                   val_split=0.1, seed=4, device="cpu", threads=1)
    reference = train("mlp", "digits", name="reference", checkpoint_every=EVERY_STEP, keep_checkpoints=0,
                      **options)
    files = checkpoint_files(workdir / "runs" / "reference" / "checkpoints")
    assert len(files) >= 8 and any(step for _, step in map(position, files))
    for path in files:
        epoch, step = position(path)
        name = f"from-{path.stem}"
        (workdir / "runs" / name / "checkpoints").mkdir(parents=True)
        shutil.copy(path, workdir / "runs" / name / "checkpoints" / path.name)
        resumed = train("mlp", "digits", name=name, resume=True)
        assert resumed.epochs_run == 2 - epoch, path.name
        assert_same_run(resumed, reference)
        # samples trained in this session: the rest of the epoch in progress, then whole epochs
        train_size = 1437 - round(0.1 * 1437)
        assert resumed.extra["rank_samples"] == (2 - epoch) * train_size - min(step * 256, train_size)


# --- an interrupted run (the notebook's stop button) ---------------------------------------------

# threads=1: a run is bit-exact for a given thread count, and auto threads follow the machine's load
INTERRUPTED = dict(epochs=3, batch_size=128, seed=2, checkpoint_every=10.0, keep_checkpoints=3, device="cpu",
                   threads=1)


class InterruptAt(Callback):
    """Sends this process `count` SIGINTs from the first progress report at (epoch, step >= step)."""

    def __init__(self, epoch: int, step: int, count: int = 1):
        self.epoch, self.step, self.count = epoch, step, count
        self.sent_at = None

    def on_progress(self, progress):
        mid_epoch = self.step <= progress.step < progress.steps_per_epoch
        if self.sent_at is None and progress.epoch == self.epoch and mid_epoch:
            self.sent_at = (progress.epoch, progress.step)
            for _ in range(self.count):
                os.kill(os.getpid(), signal.SIGINT)


def test_an_interrupt_checkpoints_says_how_to_resume_and_resuming_is_exact(workdir, sigint):
    handler = signal.getsignal(signal.SIGINT)
    stopper = InterruptAt(epoch=1, step=4)
    with pytest.raises(TrainingInterrupted) as caught:
        train("mlp", "digits", refresh_per_second=1e6, callbacks=[stopper], **INTERRUPTED)
    assert signal.getsignal(signal.SIGINT) is handler  # the loop's own handler is gone again
    epoch, step = stopper.sent_at
    partial = caught.value.result
    assert partial.interrupted and len(partial.history) == epoch
    # the stop waits for the step in progress to finish: the checkpoint is the next step boundary
    assert position(partial.checkpoint_path) == (epoch, step + 1)
    assert os.path.isfile(partial.checkpoint_path)
    message = str(caught.value)
    # the core gives the Python call with every option that was set; a magic words its own line
    assert ('train("mlp", "digits", epochs=3, batch_size=128, device="cpu", seed=2, checkpoint_every=10.0, '
            'keep_checkpoints=3, threads=1, refresh_per_second=1000000.0, resume=True)') in message
    assert partial.checkpoint_path in message and partial.checkpoint_path in caught.value.where
    assert caught.value.resume == {"dataset": "digits", **INTERRUPTED, "refresh_per_second": 1e6, "resume": True}

    # how often it checkpoints and reports may change on resume; what it learns may not
    resumed = train("mlp", "digits", resume=True, checkpoint_every=EVERY_STEP, keep_checkpoints=5,
                    refresh_per_second=2)
    assert resumed.config["checkpoint_every"] == EVERY_STEP and resumed.epochs_run == 2
    reference = train("mlp", "digits", name="reference", **INTERRUPTED)
    assert_same_run(resumed, reference)


def test_a_second_interrupt_stops_at_once_and_still_checkpoints(workdir, sigint):
    stopper = InterruptAt(epoch=0, step=3, count=2)
    with pytest.raises(TrainingInterrupted) as caught:
        train("mlp", "digits", name="exp", refresh_per_second=1e6, callbacks=[stopper], **INTERRUPTED)
    assert position(caught.value.result.checkpoint_path) == stopper.sent_at  # not one step later
    # a named run's resume call names it
    assert caught.value.resume["name"] == "exp"
    assert 'name="exp"' in str(caught.value) and str(caught.value).endswith("resume=True)`.")
    resumed = train("mlp", "digits", name="exp", resume=True)
    assert_same_run(resumed, train("mlp", "digits", name="reference", **INTERRUPTED))


def test_a_run_interrupted_twice_resumes_twice_to_the_same_end(workdir, sigint):
    steps = 12  # ceil(1437 / 128)
    recorder = []

    class Start(Callback):
        def on_train_begin(self, run):
            recorder.append((run.start_epoch, run.start_step))

    # the second stop lands on the epoch's last step: a checkpoint with every step of it done
    for stopper in (InterruptAt(epoch=0, step=5), InterruptAt(epoch=1, step=steps - 1)):
        with pytest.raises(TrainingInterrupted) as caught:
            train("mlp", "digits", resume=bool(recorder), refresh_per_second=1e6, callbacks=[stopper, Start()],
                  **INTERRUPTED)
        epoch, step = stopper.sent_at
        assert position(caught.value.result.checkpoint_path) == (epoch, step + 1)
    assert position(caught.value.result.checkpoint_path) == (1, steps)
    resumed = train("mlp", "digits", resume=True, callbacks=[Start()])
    assert recorder == [(0, 0), (0, 6), (1, 2 * steps)]  # RunInfo says where each session began
    assert resumed.epochs_run == 2
    assert_same_run(resumed, train("mlp", "digits", name="reference", **INTERRUPTED))


def test_an_interrupt_during_the_last_evaluation_returns_the_finished_run(workdir, sigint):
    class InterruptAtTheEnd(Callback):
        def on_epoch_end(self, epoch, metrics):
            if epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    result = train("mlp", "digits", epochs=2, batch_size=256, callbacks=[InterruptAtTheEnd()])
    assert not result.interrupted and len(result.history) == 2
    assert position(result.checkpoint_path) == (2, 0)


def test_resuming_an_older_checkpoint_replaces_the_later_epochs_in_tensorboard(workdir):
    """What the corrupt-checkpoint message advises: delete the newest, resume from an older one."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    options = dict(epochs=3, batch_size=256, seed=3, device="cpu")
    first = train("mlp", "digits", checkpoint_every=EVERY_STEP, keep_checkpoints=0, **options)
    files = checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")
    older = next(f for f in files if position(f)[0] == 1 and position(f)[1] > 0)
    for path in files[files.index(older) + 1:]:
        path.unlink()
    resumed = train("mlp", "digits", resume=True)
    assert resumed.epochs_run == 2
    assert timeless(resumed.history) == timeless(first.history)
    events = EventAccumulator(resumed.logdir)
    events.Reload()
    for tag in ("loss/train", "accuracy/test", "lr"):
        # epochs 2 and 3 were logged by both sessions: the second's replace the first's
        assert [e.step for e in events.Scalars(tag)] == [1, 2, 3], tag
    seconds = [e.value for e in events.Scalars("time/epoch_seconds")]
    assert seconds[1:] == pytest.approx([row["epoch_seconds"] for row in resumed.history[1:]])


# --- bad checkpoints and changed options ----------------------------------------------------------

BASE = dict(epochs=2, batch_size=128, lr=0.03, seed=1, checkpoint_every=EVERY_STEP, keep_checkpoints=0, device="cpu",
            threads=1)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """runs/ of one finished mlp run with many checkpoints, made once and copied by each test."""
    root = tmp_path_factory.mktemp("finished")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        train("mlp", "digits", **BASE)
    finally:
        os.chdir(cwd)
    return root / "runs"


@pytest.fixture
def run(workdir, finished_run):
    shutil.copytree(finished_run, workdir / "runs")
    return workdir / "runs" / "mlp-digits" / "checkpoints"


class Trap:
    """A pickle that would create a file when unpickled: resume must never run its code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def ours(change):
    def tamper(folder: Path) -> None:
        newest = checkpoint_files(folder)[-1]
        state = torch.load(newest, weights_only=True)
        change(state)
        torch.save(state, newest)
    return tamper


def newest_bytes(edit):
    def tamper(folder: Path) -> None:
        newest = checkpoint_files(folder)[-1]
        newest.write_bytes(edit(newest.read_bytes()))
    return tamper


def foreign(obj):
    def tamper(folder: Path) -> None:
        torch.save(obj, folder / "epoch0009-step000000.pt")  # sorts after every real one
    return tamper


def _wrong_shape(state):
    state["model"]["layers.1.weight"] = torch.zeros(256, 65)


def _wrong_optimizer(state):
    state["optimizer"]["param_groups"] = state["optimizer"]["param_groups"][:1]


@pytest.mark.parametrize("tamper, text", [
    pytest.param(newest_bytes(lambda data: data[:len(data) // 2]), "corrupt", id="truncated"),
    pytest.param(newest_bytes(lambda data: b""), "corrupt", id="empty"),
    pytest.param(newest_bytes(lambda data: bytes(len(data))), "corrupt", id="zeroed"),
    pytest.param(foreign({"weights": torch.zeros(3)}), "not a colabmagic training checkpoint", id="foreign-dict"),
    pytest.param(foreign([torch.zeros(3)]), "not a colabmagic training checkpoint", id="foreign-list"),
    pytest.param(foreign(Trap("TRAPPED")), "corrupt or not a PyTorch file", id="pickled-code"),
    pytest.param(ours(lambda s: s.update(version=VERSION + 1)), "format version", id="newer-version"),
    pytest.param(ours(lambda s: s.pop("optimizer")), "lacks optimizer", id="missing-key"),
    pytest.param(ours(lambda s: s.update(template="cnn")), "written by model 'cnn'", id="other-model"),
    pytest.param(ours(lambda s: s["dataset"].update(num_classes=3)), "was trained on digits", id="other-data"),
    pytest.param(ours(_wrong_shape), "does not fit model 'mlp'", id="wrong-weights"),
    pytest.param(ours(_wrong_optimizer), "optimizer state does not fit", id="wrong-optimizer"),
    pytest.param(ours(lambda s: s.update(steps_per_epoch=99)), "99 steps per epoch", id="other-steps"),
])
def test_a_bad_newest_checkpoint_is_an_error_never_a_fresh_start(run, workdir, tamper, text):
    tamper(run)
    before = snapshot(workdir)
    with pytest.raises(CheckpointError, match=text):
        train("mlp", "digits", resume=True)
    assert snapshot(workdir) == before  # no new checkpoint, no events, no runs/mlp-digits-2
    assert not (workdir / "TRAPPED").exists()


@pytest.mark.parametrize("option, value", [
    ("lr", 0.1), ("batch_size", 64), ("epochs", 1), ("seed", 2), ("optimizer", "adamw"),
    ("momentum", 0.5), ("weight_decay", 0.0), ("label_smoothing", 0.0), ("scheduler", "cosine"),
    ("augment", "flip"), ("val_split", 0.1),
])
def test_resume_refuses_an_option_that_changes_what_the_run_learns(run, workdir, option, value):
    before = snapshot(workdir)
    with pytest.raises(ConfigError, match=f"trained with {option}=.*not {value!r}.*drop that option"):
        train("mlp", "digits", resume=True, **{option: value})
    assert snapshot(workdir) == before


def test_resume_accepts_the_same_values_and_changes_to_how_it_runs(run):
    newest = checkpoint_files(run)[-1]
    resumed = train("mlp", "digits", resume=True, lr=BASE["lr"], batch_size=BASE["batch_size"], optimizer="SGD",
                    checkpoint_every=5.0, keep_checkpoints=1, refresh_per_second=3, device="cpu")
    assert resumed.config["checkpoint_every"] == 5.0 and resumed.config["keep_checkpoints"] == 1
    assert resumed.epochs_run == 0 and resumed.checkpoint_path == str(newest.relative_to(run.parents[2]))


def test_a_leftover_part_file_is_neither_resumed_nor_kept(run):
    newest = checkpoint_files(run)[-1]
    part = run / "epoch0009-step000000.pt.part"  # a write the dead process never finished
    part.write_bytes(b"half a checkpoint")
    assert checkpoint_files(run)[-1] == newest
    resumed = train("mlp", "digits", resume=True)
    assert resumed.checkpoint_path == str(newest.relative_to(run.parents[2]))
    assert not part.exists()
