"""train() end to end on the CPU: the headline accuracy, determinism, results, callbacks, TensorBoard."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from colabmagic.errors import ConfigError, DataError, DeviceError
from colabmagic.train import Callback, Progress, RunInfo, TrainConfig, train
from colabmagic.train.data import from_arrays


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, run):
        self.calls.append(("begin", run))

    def on_progress(self, progress):
        self.calls.append(("progress", progress))

    def on_epoch_end(self, epoch, metrics):
        self.calls.append(("epoch", epoch, metrics))

    def on_checkpoint(self, path):
        self.calls.append(("checkpoint", path))

    def on_train_end(self, result):
        self.calls.append(("end", result))

    def of(self, kind):
        return [c for c in self.calls if c[0] == kind]


def test_cnn_on_digits_with_its_defaults_reaches_99_percent(workdir):
    result = train("cnn", "digits")
    assert result.metrics["test_accuracy"] >= 0.99
    assert len(result.history) == result.config["epochs"] == 15
    assert result.config["model"] == "cnn" and result.config["dataset"] == "digits"


def test_same_seed_same_weights_and_history(workdir):
    first = train("mlp", "digits", epochs=2, seed=3, name="a")
    second = train("mlp", "digits", epochs=2, seed=3, name="b")
    other = train("mlp", "digits", epochs=2, seed=4, name="c")

    def strip(history):  # wall-clock time is the only thing allowed to differ
        return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in history]

    assert strip(first.history) == strip(second.history)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    assert strip(other.history) != strip(first.history)


def test_result_fields_and_displays(workdir):
    result = train("mlp", "digits", epochs=3)
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert set(result.metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    assert {"lr", "epoch_seconds"} <= set(result.history[-1])
    assert 0 < result.train_seconds <= result.wall_seconds
    assert result.samples_per_second == pytest.approx(3 * 1437 / result.train_seconds, rel=0.01)
    assert result.peak_memory_bytes > 0 and result.peak_rss_bytes > 0
    assert result.epochs_run == 3 and not result.interrupted
    assert result.device == "cpu" and result.precision == "fp32"
    assert not result.model.training  # returned in eval mode
    text, page = str(result), result._repr_html_()
    assert "test_accuracy" in text and "3/3 epochs" in text and result.logdir in text
    assert "test_accuracy" in page and "<table>" in page


def test_val_split_adds_validation_metrics(workdir):
    result = train("mlp", "digits", epochs=2, val_split=0.1)
    assert {"val_loss", "val_accuracy"} <= set(result.metrics)
    assert result.history[-1]["val_accuracy"] > 0.5


def test_callbacks_receive_plain_numbers_in_order(workdir):
    recorder = Recorder()
    result = train("mlp", "digits", epochs=2, refresh_per_second=1000, callbacks=[recorder])
    kinds = [c[0] for c in recorder.calls]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    begin = recorder.calls[0][1]
    assert isinstance(begin, RunInfo)
    assert (begin.epochs, begin.steps_per_epoch, begin.train_size) == (2, math.ceil(1437 / 64), 1437)
    progress = [c[1] for c in recorder.of("progress")]
    assert progress and all(isinstance(p, Progress) for p in progress)
    assert all(type(v) is float for p in progress for v in p.metrics.values())
    assert [p.global_step for p in progress] == sorted(p.global_step for p in progress)
    epochs = recorder.of("epoch")
    assert [e[1] for e in epochs] == [0, 1]
    assert all(type(v) is float for e in epochs for v in e[2].values())
    assert recorder.of("checkpoint")[-1][1] == result.checkpoint_path
    assert recorder.of("end")[0][1] is result


def test_tensorboard_scalars_per_epoch(workdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train("mlp", "digits", epochs=3, val_split=0.1)
    events = EventAccumulator(result.logdir)
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss/train", "accuracy/train", "loss/val", "accuracy/val", "loss/test", "accuracy/test", "lr",
            "time/epoch_seconds"} <= tags
    test_accuracy = events.Scalars("accuracy/test")
    assert [e.step for e in test_accuracy] == [1, 2, 3]
    assert [e.value for e in test_accuracy] == pytest.approx([h["test_accuracy"] for h in result.history])


def test_a_model_object_and_a_dataset_object(workdir):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype("float32")
    data = from_arrays(x, (x[:, 0] + x[:, 1] > 0).astype(int), name="table")
    model = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    result = train(model, data, epochs=10, lr=0.1)
    assert result.model is model
    assert result.metrics["test_accuracy"] > 0.9
    assert result.config["model"] == "Sequential"


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


@pytest.mark.parametrize("args, options, error, text", [
    (("mlp", "digits"), dict(batch_size=0), ConfigError, "batch_size"),
    (("mlp", "digits"), dict(bogus=1), ConfigError, "bogus"),
    (("mlp", "digits"), dict(optimizer="rmsprop"), ConfigError, "sgd, adamw"),
    (("mlp", "digits"), dict(device="cuda:7"), DeviceError, "cuda:7"),
    (("mlp", "digits"), dict(device="tpu"), ConfigError, "tpu"),
    (("lstm", "digits"), {}, DataError, "text"),
    (("mlp", "digits"), dict(augment="rotate"), ConfigError, "rotate"),
    (("mlp", "digits"), dict(name="../escape"), ConfigError, "Run name"),
    (("mlpp", "digits"), {}, ConfigError, "did you mean 'mlp'"),
    ((42, "digits"), {}, ConfigError, "template name"),
])
def test_bad_options_fail_before_anything_is_written(workdir, args, options, error, text):
    with pytest.raises(error, match=text):
        train(*args, **options)
    assert list(workdir.iterdir()) == []
