"""train() end to end on the CPU with the offline digits data: the headline accuracy, bit-exact
determinism, what TrainResult, the callbacks and TensorBoard receive, and bad options that fail
before anything is written. Runs whose exact numbers or device names are checked say device="cpu",
so they mean the same on a machine with a GPU.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
import torch

from colabmagic.errors import ColabMagicError, ConfigError, DataError, DeviceError
from colabmagic.train import Callback, Progress, RunInfo, TrainConfig, TrainResult, train
from colabmagic.train.data import from_arrays, load_dataset

DIGITS_TRAIN, DIGITS_TEST = 1437, 360
EPOCH_KEYS = {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "epoch_seconds"}


class Recorder(Callback):
    """Keeps every call in order, checking on the spot what can only be checked at call time."""

    def __init__(self):
        self.calls: list[tuple] = []

    def on_train_begin(self, run):
        self.calls.append(("begin", run))

    def on_progress(self, progress):
        self.calls.append(("progress", progress))

    def on_epoch_end(self, epoch, metrics):
        self.calls.append(("epoch", epoch, metrics))

    def on_checkpoint(self, path):
        # announced only once the file is whole on disk, never while it is still being written
        assert os.path.isfile(path) and not os.path.exists(path + ".part"), path
        self.calls.append(("checkpoint", path))

    def on_train_end(self, result):
        self.calls.append(("end", result))

    def of(self, kind):
        return [c[1:] if len(c) > 2 else c[1] for c in self.calls if c[0] == kind]


def timeless(history):
    """History without wall-clock time, the only field two identical runs may disagree on."""
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in history]


def accuracy_of(model: torch.nn.Module, dataset) -> float:
    """Test accuracy recomputed outside the loop, with the loop's own normalisation of digits."""
    mean = torch.tensor(dataset.mean).view(1, -1, 1, 1)
    std = torch.tensor(dataset.std).view(1, -1, 1, 1)
    device = next(model.parameters()).device
    with torch.no_grad():
        predicted = model(((dataset.x_test - mean) / std).to(device)).argmax(1).cpu()
    return (predicted == dataset.y_test).double().mean().item()


@pytest.mark.slow
def test_cnn_on_digits_with_defaults_reaches_99_percent(workdir):
    # one thread: bit-exact (auto threads follow the machine's load, and a count that changes mid-run
    # changes which of the 360 test digits it misses); 99.4 % at 1 thread, 99.7 % at 2
    result = train("cnn", "digits", threads=1)
    assert result.metrics["test_accuracy"] >= 0.99
    # the template's defaults are what ran, and the reported accuracy is the model's real one
    assert (result.config["epochs"], result.config["batch_size"], result.config["label_smoothing"]) == (15, 64, 0.1)
    assert accuracy_of(result.model, load_dataset("digits")) == pytest.approx(result.metrics["test_accuracy"])


def test_same_seed_gives_bit_identical_weights_and_history(workdir):
    # dropout, BatchNorm, augmentation and a validation carve-out: every random stream of the loop
    run = dict(epochs=2, batch_size=128, augment="flip,crop", val_split=0.1, seed=7, device="cpu", threads=1)
    first = train("cnn", "digits", name="first", **run)
    second = train("cnn", "digits", name="second", **run)
    other = train("cnn", "digits", name="other", **{**run, "seed": 8})

    assert timeless(first.history) == timeless(second.history)
    assert first.metrics == second.metrics
    one, two, three = (r.model.state_dict() for r in (first, second, other))
    assert list(one) == list(two)
    for key in one:  # weights and BatchNorm buffers alike
        assert torch.equal(one[key], two[key]), key
    assert not all(torch.equal(one[k], three[k]) for k in one)
    assert timeless(other.history) != timeless(first.history)


def test_result_fields_are_consistent(workdir):
    result = train("mlp", "digits", epochs=3, batch_size=128, device="cpu")
    assert isinstance(result, TrainResult)
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert all(set(row) == EPOCH_KEYS for row in result.history)
    assert set(result.metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    assert result.metrics == {k: result.history[-1][k] for k in result.metrics}  # final = last epoch
    assert all(0.0 <= result.metrics[k] <= 1.0 for k in ("train_accuracy", "test_accuracy"))
    assert result.metrics["test_accuracy"] > 0.8
    assert all(row["epoch_seconds"] > 0 for row in result.history)

    assert 0 < result.train_seconds <= result.wall_seconds
    assert sum(row["epoch_seconds"] for row in result.history) <= result.train_seconds
    assert result.samples_per_second > 0
    assert result.samples_per_second == pytest.approx(3 * DIGITS_TRAIN / result.train_seconds, rel=1e-6)
    assert result.epochs_run == 3 and not result.interrupted
    assert result.name == "mlp-digits" and result.logdir == os.path.join("runs", "mlp-digits")
    assert result.config["model"] == "mlp" and result.config["dataset"] == "digits"
    assert os.path.isfile(result.checkpoint_path)
    assert not result.model.training
    assert accuracy_of(result.model, load_dataset("digits")) == pytest.approx(result.metrics["test_accuracy"])

    text, page = str(result), result._repr_html_()
    assert text.splitlines()[0].startswith("mlp on digits (cpu, fp32): trained 3/3 epochs")
    assert re.search(rf"^  test_accuracy +{result.metrics['test_accuracy']:.4f}$", text, re.M)
    assert "test_accuracy" in page and f"{result.metrics['test_accuracy']:.4f}" in page
    assert result.checkpoint_path in text and result.checkpoint_path in page
    assert "test_accuracy=" in repr(result)


def test_val_split_holds_out_validation_data_and_reports_it(workdir):
    recorder = Recorder()
    result = train("mlp", "digits", epochs=2, batch_size=128, val_split=0.25, callbacks=[recorder])
    held_out = round(0.25 * DIGITS_TRAIN)
    assert recorder.of("begin")[0].train_size == DIGITS_TRAIN - held_out
    assert set(result.metrics) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                   "test_loss", "test_accuracy"}
    assert all({"val_loss", "val_accuracy"} <= set(row) for row in result.history)
    assert result.metrics["val_accuracy"] > 0.8
    # accuracies are whole examples over the split's size: the validation split has `held_out` of them
    right = result.metrics["val_accuracy"] * held_out
    assert right == pytest.approx(round(right), abs=1e-6)
    assert result.samples_per_second == pytest.approx(2 * (DIGITS_TRAIN - held_out) / result.train_seconds)


def test_user_arrays_train_and_name_the_run_after_them(workdir):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4)).astype("float32")
    y = (x[:, 0] - x[:, 2] > 0).astype("int64")
    result = train("mlp", data=(x, y), epochs=15, batch_size=50, lr=0.05, device="cpu")
    assert result.name == "mlp-arrays" and result.config["dataset"] == "arrays"
    assert result.metrics["test_accuracy"] > 0.9
    assert result.model(torch.zeros(1, 4)).shape == (1, 2)


def test_tensorboard_gets_every_epoch_under_its_tag(workdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train("mlp", "digits", epochs=3, batch_size=128, val_split=0.1)
    assert any(name.startswith("events.out.tfevents.") for name in os.listdir(result.logdir))
    events = EventAccumulator(result.logdir)
    events.Reload()
    expected = {"loss/train": "train_loss", "accuracy/train": "train_accuracy", "loss/val": "val_loss",
                "accuracy/val": "val_accuracy", "loss/test": "test_loss", "accuracy/test": "test_accuracy",
                "lr": "lr", "time/epoch_seconds": "epoch_seconds"}
    assert set(events.Tags()["scalars"]) == set(expected)
    for tag, key in expected.items():
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [1, 2, 3], tag  # the step is the 1-based epoch, once each
        assert [s.value for s in scalars] == pytest.approx([row[key] for row in result.history], rel=1e-6), tag


def test_callbacks_see_the_run_in_order_as_plain_numbers(workdir):
    recorder = Recorder()
    result = train("mlp", "digits", epochs=2, batch_size=100, refresh_per_second=1000, device="cpu",
                   checkpoint_every=1e-5, callbacks=[recorder])
    kinds = [c[0] for c in recorder.calls]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("begin") == kinds.count("end") == 1

    run = recorder.of("begin")[0]
    assert isinstance(run, RunInfo)
    steps = math.ceil(DIGITS_TRAIN / 100)
    assert (run.name, run.model, run.dataset, run.device) == ("mlp-digits", "mlp", "digits", "cpu")
    assert (run.epochs, run.steps_per_epoch, run.train_size) == (2, steps, DIGITS_TRAIN)
    assert (run.start_epoch, run.start_step) == (0, 0)
    assert run.num_params == sum(p.numel() for p in result.model.parameters())
    assert run.config["batch_size"] == 100

    progress = recorder.of("progress")
    assert all(isinstance(p, Progress) for p in progress)
    assert all(type(v) is float for p in progress for v in (*p.metrics.values(), p.samples_per_second,
                                                             p.elapsed_seconds))
    assert all(set(p.metrics) == {"loss", "accuracy"} and 0 <= p.metrics["accuracy"] <= 1 for p in progress)
    assert all(p.global_step == p.epoch * steps + p.step and 0 < p.step <= steps for p in progress)
    assert [p.global_step for p in progress] == sorted(p.global_step for p in progress)

    epochs = recorder.of("epoch")
    assert [epoch for epoch, _ in epochs] == [0, 1]
    for (epoch, metrics), row in zip(epochs, result.history):
        assert all(type(v) is float for v in metrics.values())
        assert metrics == {k: v for k, v in row.items() if k != "epoch"}
        # the epoch's closing progress report carries the same running averages as its metrics
        closing = [p for p in progress if p.epoch == epoch and p.step == steps][-1]
        assert closing.metrics == {"loss": metrics["train_loss"], "accuracy": metrics["train_accuracy"]}

    checkpoints = recorder.of("checkpoint")
    assert len(checkpoints) > 2  # mid-epoch ones too, at this checkpoint_every
    assert all(re.fullmatch(r"epoch\d{4}-step\d{6}\.pt", os.path.basename(p)) for p in checkpoints)
    assert checkpoints == sorted(checkpoints) and checkpoints[-1] == result.checkpoint_path
    assert recorder.of("end")[0] is result


def test_progress_is_read_at_most_refresh_per_second(workdir):
    # each report reads the metrics off the device (a sync point on a GPU): the rate is a promise
    recorder = Recorder()
    result = train("mlp", "digits", epochs=4, batch_size=16, refresh_per_second=5, callbacks=[recorder])
    steps = math.ceil(DIGITS_TRAIN / 16)
    mid_epoch = [p for p in recorder.of("progress") if p.step < steps]
    assert len(mid_epoch) <= result.train_seconds * 5 + 1


def test_a_model_object_trains_in_place(workdir):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    before = model[1].weight.detach().clone()
    result = train(model, "digits", epochs=2, batch_size=128, device="cpu")
    assert result.model is model and not torch.equal(model[1].weight, before)
    assert result.name == "Sequential-digits" and result.metrics["test_accuracy"] > 0.8


def _arrays(kind: str):
    rng = np.random.default_rng(0)
    if kind == "tabular":
        return rng.normal(size=(60, 3)).astype("float32"), rng.integers(0, 2, 60)
    return rng.normal(size=(60, 3)).astype("float32"), rng.integers(0, 2, 59)


@pytest.mark.parametrize("model, dataset, options, error, text", [
    ("cnn", "digits", dict(batch_size=0), ConfigError, "batch_size must be at least 1"),
    ("cnn", "digits", dict(learning_rate=0.1), ConfigError, "Unknown training option 'learning_rate'"),
    ("cnn", "digits", dict(device="cuda:7"), DeviceError, "cuda:7"),
    ("cnn", "digits", dict(device="tpu"), ConfigError, "Unknown device 'tpu'"),
    ("lstm", "digits", {}, DataError, "lstm works on text data.*use mlp, cnn, resnet9, resnet18"),
    ("transformer", "digits", {}, DataError, "transformer works on text data.*use mlp, cnn"),
    ("cnn", "digits", dict(optimizer="rmsprop"), ConfigError, "Unknown optimizer 'rmsprop'.*sgd, adamw"),
    ("cnn", "digits", dict(scheduler="step"), ConfigError, "scheduler"),
    ("cnn", "digits", dict(precision="int8"), ConfigError, "precision"),
    ("cnn", "digits", dict(lr=0), ConfigError, "lr must be greater than 0"),
    ("cnn", "digits", dict(epochs=2.5), ConfigError, "epochs must be a whole number"),
    ("cnn", "digits", dict(val_split=1.0), ConfigError, "val_split"),
    ("cnn", "digits", dict(augment="rotate"), ConfigError, "Unknown augmentation 'rotate'"),
    ("cnn", "digits", dict(checkpoint_every=-1), ConfigError, "checkpoint_every"),
    ("cnn", "digits", dict(name="../outside"), ConfigError, "Run name"),
    ("cnnn", "digits", {}, ConfigError, "did you mean 'cnn'"),
    ("cnn", "digitz", {}, DataError, "did you mean 'digits'"),
    ("cnn", "tabular", {}, DataError, "cnn works on image data.*use mlp"),
    ("mlp", "tabular", dict(augment="flip"), ConfigError, "works on images"),
    ("mlp", "mismatched", {}, DataError, "60 examples but y_train has 59"),
])
def test_bad_options_raise_and_write_nothing(workdir, model, dataset, options, error, text):
    data = _arrays(dataset) if dataset in ("tabular", "mismatched") else None
    with pytest.raises(error, match=text) as caught:
        train(model, None if data is not None else dataset, data=data, **options)
    assert type(caught.value) is error and isinstance(caught.value, ColabMagicError)
    assert list(workdir.iterdir()) == []


def test_text_template_on_token_ids(workdir):
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, 40, size=(600, 12))
    labels = (tokens == 7).any(1).astype(int)
    data = from_arrays(tokens, labels, kind="text", name="tokens")
    result = train("lstm", data, epochs=6)
    assert result.metrics["test_accuracy"] > 0.85


def test_config_object_and_options_merge(workdir):
    config = TrainConfig(model="mlp", epochs=1, lr=0.01)
    result = train(config, "digits", batch_size=32)
    assert (result.config["epochs"], result.config["lr"], result.config["batch_size"]) == (1, 0.01, 32)


@pytest.mark.parametrize("capability, expected", [
    ((9, 0), "bf16"), ((8, 6), "bf16"), ((8, 0), "bf16"),  # H100, RTX 30xx, A100
    ((7, 5), "fp16"), ((7, 0), "fp16"), ((6, 0), "fp16"),  # T4, V100, P100: fp16 tensor cores or fast fp16
    ((6, 1), "fp32"), ((5, 2), "fp32"),                    # GTX 10xx/P4/P40 (fp16 at 1/64 speed), Maxwell
])
def test_auto_precision_follows_the_chosen_gpus_capability(capability, expected):
    """Decided from the device the run uses, never from whichever GPU is current (a T4 beside an A100
    got bf16), and no fp16 on 6.1. The capability is given as the device would report it."""
    import torch

    from colabmagic.train.device import autocast_dtype, precision_name

    assert precision_name(autocast_dtype("auto", torch.device("cuda", 1), capability)) == expected


def test_bf16_asked_on_a_gpu_without_it_is_one_clear_error():
    import torch

    from colabmagic.errors import DeviceError
    from colabmagic.train.device import autocast_dtype

    with pytest.raises(DeviceError, match=r"cuda:1 \(compute capability 7.5\) has no native bf16"):
        autocast_dtype("bf16", torch.device("cuda", 1), (7, 5))
    assert autocast_dtype("fp16", torch.device("cuda", 1), (6, 1)) is torch.float16  # asked for: given
    assert autocast_dtype("auto", torch.device("cpu")) is None


@pytest.mark.parametrize("examples, batch, compiled, steps", [
    (1437, 64, False, 23), (1437, 64, True, 22),  # compiled: the 29-example last batch is dropped
    (1408, 64, True, 22), (50, 64, True, 1),      # whole batches already; fewer examples than a batch
])
def test_a_compiled_run_takes_whole_batches_only(examples, batch, compiled, steps):
    """A smaller last batch made torch.compile build a second graph (dynamic shapes) every run."""
    from colabmagic.train.parts import steps_per_epoch

    assert steps_per_epoch(examples, batch, compiled=compiled) == steps
