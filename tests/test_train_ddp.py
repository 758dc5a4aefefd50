"""`--devices N`: DDP through torchrun, for real: gloo worker processes on this CPU, no mocks."""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest
import torch

from colabmagic.errors import ConfigError, TrainingInterrupted
from colabmagic.train import Callback, train
from colabmagic.train.data import load_dataset
from colabmagic.train.launch import torchrun_command
from colabmagic.train.plan import make_plan
from colabmagic.train.config import TrainConfig

pytestmark = pytest.mark.slow


class Recorder(Callback):
    """Keeps what the launcher replays from rank 0, as this process sees it."""

    def __init__(self):
        self.begin, self.epochs, self.progress, self.checkpoints, self.end = None, [], 0, [], None

    def on_train_begin(self, run):
        self.begin = run

    def on_progress(self, progress):
        self.progress += 1

    def on_epoch_end(self, epoch, metrics):
        self.epochs.append((epoch, metrics))

    def on_checkpoint(self, path):
        self.checkpoints.append(path)

    def on_train_end(self, result):
        self.end = result


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def test_two_gloo_processes_reach_the_target_and_both_take_part(workdir):
    recorder = Recorder()
    result = train("cnn", "digits", devices=2, callbacks=[recorder])

    assert result.metrics["test_accuracy"] >= 0.99
    samples = result.extra["rank_samples"]
    assert result.extra["world_size"] == 2 and len(samples) == 2
    assert samples[0] == samples[1] > 0                 # equal shards, both ranks trained
    assert sum(samples) == 15 * (1437 // 2) * 2         # every epoch, every sample of the shards
    # the weights came back: the returned model scores what rank 0 measured
    data = load_dataset("digits")
    mean, std = data.mean[0], data.std[0]
    x_test = (data.x_test - mean) / std
    assert accuracy(result.model.cpu(), x_test, data.y_test) == pytest.approx(result.metrics["test_accuracy"])
    # rank 0's progress was replayed here, live views and TensorBoard included
    assert recorder.begin.epochs == 15 and [e for e, _ in recorder.epochs] == list(range(15))
    assert recorder.progress >= 15 and recorder.end is result
    assert recorder.checkpoints and os.path.exists(recorder.checkpoints[-1])
    assert any(p.name.startswith("events.out.tfevents") for p in (workdir / "runs" / "cnn-digits").iterdir())


def test_interrupt_stops_all_ranks_with_a_checkpoint_and_resume_finishes(workdir):
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may start with SIGINT ignored

    class InterruptAfterTwoEpochs(Callback):
        def on_epoch_end(self, epoch, metrics):
            if epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)  # what the notebook's stop button does to the kernel

    with pytest.raises(TrainingInterrupted) as caught:
        train("mlp", "digits", devices=2, epochs=40, callbacks=[InterruptAfterTwoEpochs()])
    message = str(caught.value)
    assert "--resume --devices 2" in message and "devices=2" in message
    interrupted = caught.value.result
    assert interrupted.interrupted and 2 <= len(interrupted.history) < 40
    assert os.path.exists(interrupted.checkpoint_path)

    resumed = train("mlp", "digits", devices=2, epochs=40, resume=True)
    assert len(resumed.history) == 40
    assert resumed.history[:2] == interrupted.history[:2]   # the epochs before the stop are kept
    assert resumed.epochs_run == 40 - len(interrupted.history)


def test_two_nodes_meet_at_the_rendezvous_endpoint(workdir):
    """nnodes/node_rank/rdzv_endpoint pass through to torchrun: two one-process 'nodes' on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = dict(devices=1, nnodes=2, rdzv_endpoint=f"127.0.0.1:{port}", epochs=3, model="mlp")
    results = {}

    def node(rank):
        results[rank] = train(dataset="digits", node_rank=rank, name=f"node{rank}", **options)

    other = threading.Thread(target=node, args=(1,))
    other.start()
    node(0)
    other.join(timeout=120)
    assert results[0].extra["world_size"] == results[1].extra["world_size"] == 2
    assert results[0].extra["rank_samples"] == results[1].extra["rank_samples"]
    assert results[0].metrics == results[1].metrics         # one training, seen from both nodes
    assert results[0].checkpoint_path and results[1].checkpoint_path is None  # global rank 0 writes
    for a, b in zip(results[0].model.state_dict().values(), results[1].model.state_dict().values()):
        assert torch.equal(a, b)


def test_torchrun_command_for_one_and_several_nodes(workdir):
    single = make_plan(TrainConfig(model="mlp", dataset="digits", devices=3, device="cpu"))
    command = torchrun_command(single, workdir / "job.pt")
    assert command[1:3] == ["-m", "torch.distributed.run"]
    assert "--nproc-per-node=3" in command and "--standalone" in command
    assert command[-3:] == ["-m", "colabmagic.train.worker", str(workdir / "job.pt")]

    multi = make_plan(TrainConfig(model="mlp", dataset="digits", devices=2, nnodes=4, node_rank=3,
                                  rdzv_endpoint="10.0.0.1:29500", device="cpu"))
    command = torchrun_command(multi, workdir / "job.pt")
    assert {"--nnodes=4", "--node-rank=3", "--master-addr=10.0.0.1", "--master-port=29500"} <= set(command)
    assert "--standalone" not in command
    assert list(workdir.iterdir()) == []  # planning writes nothing


@pytest.mark.parametrize("options, expected", [
    (dict(devices=0), "devices"),
    (dict(devices=2, nnodes=2), "rdzv_endpoint"),
    (dict(devices=2, nnodes=2, node_rank=2, rdzv_endpoint="h:1"), "node_rank"),
    (dict(devices=2, rdzv_endpoint="no-port"), "HOST:PORT"),
])
def test_bad_distributed_options_are_config_errors(workdir, options, expected):
    with pytest.raises(ConfigError, match=expected):
        train("mlp", "digits", **options)
    assert list(workdir.iterdir()) == []


def test_a_model_object_cannot_go_to_worker_processes(workdir):
    with pytest.raises(ConfigError, match="model object"):
        train(torch.nn.Linear(64, 10), "digits", devices=2)
