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
from colabmagic.train.ddp.launch import torchrun_command
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
    # the resume options come back from the workers: same process count (it fixes steps per epoch)
    assert caught.value.resume == {"dataset": "digits", "epochs": 40, "devices": 2, "resume": True}
    assert "devices=2" in message and "resume=True" in message and caught.value.where in message
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
    assert command[-3:] == ["-m", "colabmagic.train.ddp.worker", str(workdir / "job.pt")]

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


# --- a kernel that dies takes its workers with it ---------------------------------------------------

def _gone(process) -> bool:
    import psutil

    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited; only its parent has not reaped it
    except psutil.NoSuchProcess:
        return True


def test_sigkilled_kernel_takes_torchrun_and_its_workers_along(workdir):
    """A real IPython kernel runs `%train ... --devices 2`; kill -9 it mid-training: the torchrun agent
    and both workers exit within seconds, and no job folder (it holds the dataset) stays behind."""
    import time

    import psutil
    from jupyter_client import KernelManager

    from colabmagic.train.ddp.job import JobFolder

    temp = workdir / "tmp"
    temp.mkdir()
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(workdir), env={**os.environ, "TMPDIR": str(temp)})
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=120)
        client.execute("%load_ext colabmagic\n%train mlp digits --devices 2 --epochs 1000 --device cpu --quiet")
        kernel = psutil.Process(manager.provisioner.pid)
        deadline = time.monotonic() + 180
        while not any('"on_epoch_end"' in p.read_text() for p in temp.glob("colabmagic-ddp-*/events.jsonl")):
            assert time.monotonic() < deadline, "training never started"
            assert manager.is_alive(), "the kernel died before training started"
            time.sleep(0.1)
        tree = kernel.children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in tree]
        assert sum("torch.distributed.run" in c for c in commands) == 1
        assert sum("colabmagic.train.ddp.worker" in c and "torch.distributed.run" not in c for c in commands) == 2
        (job,) = temp.glob("colabmagic-ddp-*")

        os.kill(kernel.pid, signal.SIGKILL)
        killed = time.monotonic()
        manager.provisioner.process.wait()  # reap the kernel: it is this process's child
        while not all(_gone(p) for p in tree):
            assert time.monotonic() - killed < 15, [c for p, c in zip(tree, commands) if not _gone(p)]
            time.sleep(0.05)
        exit_seconds = time.monotonic() - killed
        print(f"\ntorchrun and 2 workers exited {exit_seconds:.2f} s after the kernel's SIGKILL")
        assert exit_seconds < 10
    finally:
        client.stop_channels()
        if manager.has_kernel and manager.is_alive():
            manager.shutdown_kernel(now=True)
    # the workers stopped as an interrupt does: rank 0 checkpointed, so the run can be resumed
    assert list((workdir / "runs" / "mlp-digits" / "checkpoints").glob("*.pt"))
    # rank 0 removed the job folder; had it been killed too, the next start would (test below)
    JobFolder.create(temp).remove()
    assert not job.exists() and list(temp.glob("colabmagic-ddp-*")) == []
    assert not list(temp.glob("torchelastic_*"))  # torchrun's own logs went into the job folder


def test_the_next_start_removes_job_folders_whose_owner_died(tmp_path):
    import subprocess
    import sys
    import time

    from colabmagic.processes import ProcessIdentity
    from colabmagic.train.ddp.job import PREFIX, JobFolder
    from colabmagic.train.ddp.owner import current_owner, read_owner, write_owner

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    dead = ProcessIdentity.of(ended.pid)
    ended.wait()
    me = current_owner()

    def folder(name, owner=None, age=0.0):
        path = tmp_path / (PREFIX + name)
        path.mkdir()
        (path / "job.pt").write_bytes(b"the user's data")
        if owner is not None:
            write_owner(path, owner)
        if age:
            os.utime(path, (time.time() - age, time.time() - age))
        return path

    stale = folder("dead", dead)
    reused = folder("reused", ProcessIdentity(os.getpid(), me.start - 1000))  # same pid, other process
    mine = folder("alive", me)
    old_unowned = folder("old", age=3600)
    new_unowned = folder("new")        # being created by someone right now: owner.json comes next
    other = tmp_path / "unrelated-folder"
    other.mkdir()

    created = JobFolder.create(tmp_path)
    try:
        assert not stale.exists() and not reused.exists() and not old_unowned.exists()
        assert mine.exists() and new_unowned.exists() and other.exists()
        assert read_owner(created.path) == me
        assert oct(created.path.stat().st_mode & 0o777) == "0o700"
    finally:
        created.remove()


LIFELINE_PROBE = """
import os, signal, sys, time
import colabmagic.train.ddp.worker as worker
from colabmagic.processes import ProcessIdentity

worker.EXIT_GRACE = 1.0
def stop(signum, frame):  # stands in for fit()'s handler: stop at the next step
    print("stop requested", flush=True)
    if sys.argv[2] == "stops":
        print("stopped cleanly", flush=True)  # the deadline's exit prints nothing
        os._exit(0)  # as worker.py ends: no interpreter teardown
signal.signal(signal.SIGINT, stop)
worker.Lifeline(ProcessIdentity.of(int(sys.argv[1]))).start()
print("watching", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("dies, behaviour", [("owner", "stops"), ("agent", "stops"), ("owner", "hangs")])
def test_a_worker_stops_when_its_kernel_or_its_agent_dies_even_without_a_death_signal(dies, behaviour):
    """The watch that covers systems without PR_SET_PDEATHSIG (and an agent that died first): the
    worker asks for a stop once, and exits after EXIT_GRACE if the stop does not finish."""
    import subprocess
    import sys
    import time

    import psutil

    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    probe_command = [sys.executable, "-c", LIFELINE_PROBE, str(owner.pid), behaviour]
    if dies == "agent":  # a process between us and the worker stands in for torchrun's agent
        probe_command = [sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])", *probe_command]
    started = subprocess.Popen(probe_command, stdout=subprocess.PIPE, text=True)
    probe = None
    try:
        assert started.stdout.readline().strip() == "watching"
        probe = psutil.Process(started.pid).children()[0] if dies == "agent" else psutil.Process(started.pid)
        killed = owner if dies == "owner" else started
        killed.kill()
        killed.wait()
        start = time.monotonic()
        # The pipe closes when the probe exits. Timing the exit with wait() would also time its reaping,
        # and an orphaned grandchild is reaped by init whenever init gets to it (2 s seen on CI).
        output = started.stdout.read()
        elapsed = time.monotonic() - start
        code = probe.wait(timeout=10) if dies == "owner" else None  # a grandchild is not ours to reap
    finally:
        for process in (owner, started):
            process.kill()
            process.wait()
        if probe is not None and probe.is_running():
            probe.kill()
    assert output.count("stop requested") == 1  # asked once, however many checks followed
    # The bounds are loose for a busy 2-core machine. The printed line tells a clean stop from the
    # deadline's exit. The deadline needs EXIT_GRACE (1 s here), the watch WATCH_SECONDS (0.2 s).
    if behaviour == "stops":
        assert "stopped cleanly" in output and code in (0, None) and elapsed < 10
    else:
        assert "stopped cleanly" not in output and code == 1 and 0.9 < elapsed < 10


# --- a stop that cannot deadlock: bursts of SIGTERM, a main thread stuck in a collective ----------

GROUP_PROBE = """
import os, signal, sys, time
import torch, torch.distributed as dist
import colabmagic.train.ddp.worker as worker
from colabmagic.processes import ProcessIdentity

worker.EXIT_GRACE = 1.0
rank = int(os.environ["RANK"])
if sys.argv[1] == "lifeline":
    def stop(signum, frame):  # stands in for fit()'s handler: stop at the next step (it never comes)
        print("stop requested", flush=True)
    signal.signal(signal.SIGINT, stop)
    worker.Lifeline(ProcessIdentity.of(os.getppid())).start()
worker.join_group("cpu", 0)
print("joined", flush=True)
if rank == 1:  # a peer that hangs: it never reaches the collective
    time.sleep(120)
    os._exit(0)
start = time.monotonic()
try:
    dist.all_reduce(torch.ones(1))
    print("collective returned", flush=True)
except Exception as err:
    print(f"collective failed after {time.monotonic() - start:.1f} s: {type(err).__name__}", flush=True)
os._exit(3)
"""


def _group(mode: str, timeout: float):
    """Two gloo ranks of GROUP_PROBE on this machine; rank 0 ends up inside an all_reduce that rank 1
    never joins."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2",
           "COLABMAGIC_DDP_TIMEOUT": str(timeout)}
    return [subprocess.Popen([sys.executable, "-c", GROUP_PROBE, mode], env={**env, "RANK": str(rank)},
                             stdout=subprocess.PIPE, text=True) for rank in (0, 1)]


def test_a_burst_of_sigterms_inside_a_collective_stops_the_worker_once_and_ends_it():
    """The main thread is blocked in all_reduce (a hung peer): it runs no Python signal handler, so only
    the deadline, woken by the C-level handler's byte, can end the worker. A burst of SIGTERMs asks for
    one stop, and the worker exits after EXIT_GRACE (1 s here), long before the collective's timeout."""
    import time

    rank0, rank1 = _group("lifeline", timeout=120)
    try:
        assert rank0.stdout.readline().strip() == "joined"
        time.sleep(0.5)  # into the all_reduce
        start = time.monotonic()
        for _ in range(50):
            rank0.send_signal(signal.SIGTERM)
        output = rank0.stdout.read()  # closes when rank 0 exits
        elapsed = time.monotonic() - start
        code = rank0.wait(timeout=10)
    finally:
        for process in (rank0, rank1):
            process.kill()
            process.wait()
    assert code == 1, output  # the deadline's exit, not the collective's timeout (exit 3)
    assert 0.9 < elapsed < 20
    # the collective never returned, so the handler ran at most when the process was already ending
    assert output.count("stop requested") <= 1 and "collective" not in output


def test_a_burst_of_sigterms_while_python_runs_asks_for_one_stop():
    """Fifty SIGTERMs into a busy main thread: the handler (which takes no lock) asks fit() to stop
    exactly once, and the deadline ends the worker when the stop never finishes."""
    import subprocess
    import sys
    import time

    probe = subprocess.Popen([sys.executable, "-c", LIFELINE_PROBE.replace("time.sleep(60)", BUSY), str(os.getpid()),
                              "hangs"], stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout.readline().strip() == "watching"
        start = time.monotonic()
        for _ in range(50):
            probe.send_signal(signal.SIGTERM)
        output = probe.stdout.read()
        elapsed = time.monotonic() - start
        code = probe.wait(timeout=10)
    finally:
        probe.kill()
        probe.wait()
    assert output.count("stop requested") == 1
    assert code == 1 and 0.9 < elapsed < 20


BUSY = """
import torch
w = torch.randn(64, 64, requires_grad=True)
end = time.monotonic() + 60
while time.monotonic() < end:  # the worker's main thread in backward(), where SIGTERMs land
    (w @ w).sum().backward()
"""


def test_collectives_give_up_on_a_peer_that_hangs():
    """Without a lifeline to end it, a rank waiting for a hung peer fails after COLLECTIVE_TIMEOUT
    (2 s here) instead of waiting forever."""
    rank0, rank1 = _group("plain", timeout=2)
    try:
        assert rank0.stdout.readline().strip() == "joined"
        output = rank0.stdout.read()
        code = rank0.wait(timeout=60)
    finally:
        for process in (rank0, rank1):
            process.kill()
            process.wait()
    assert code == 3 and "collective failed after" in output, output
    seconds = float(output.split("after ")[1].split(" s")[0])
    assert 1.5 < seconds < 30


def test_a_loss_that_stops_being_finite_ends_every_rank_together(workdir):
    """Each rank used to check its loss on its own clock: the first to see nan raised, the others
    waited for it in their next all-reduce, and the user read "torchrun exited ... before rank 0
    reported". Now the ranks agree on it at a step, and the launcher says what happened."""
    import time

    from colabmagic.errors import TrainingDiverged

    started = time.monotonic()
    with pytest.raises(TrainingDiverged, match=r"The loss became (nan|infinite) by epoch 1, step \d+ \(lr=1e\+12\)"):
        train("mlp", "digits", devices=2, device="cpu", lr=1e12, optimizer="sgd", epochs=5, seed=0)
    assert time.monotonic() - started < 120  # not a collective's timeout
    assert not list((workdir / "runs" / "mlp-digits" / "checkpoints").glob("*.pt"))  # no broken weights saved


GIL_PROBE = """
import re, sys, time
import colabmagic.train.ddp.worker as worker
from colabmagic.processes import ProcessIdentity

worker.HANG_SECONDS = 1.5
worker.Lifeline(ProcessIdentity.of(int(sys.argv[1]))).start()
print("watching", flush=True)
time.sleep(0.5)  # the watcher re-arms the switch a few times
re.match(r"(a+)+$", "a" * 64 + "b")  # a C call that holds the GIL for ever: no Python thread runs again
print("never", flush=True)
"""


def test_a_worker_stuck_in_c_holding_the_gil_still_ends():
    """torch 2.4's gloo hung in destroy_process_group holding the GIL: neither the deadline thread nor
    the watcher can run then, only C's own timer (the dead man's switch) ends the process."""
    import subprocess
    import sys
    import time

    probe = subprocess.Popen([sys.executable, "-c", GIL_PROBE, str(os.getpid())], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert probe.stdout.readline().strip() == "watching"
        start = time.monotonic()
        code = probe.wait(timeout=30)
        elapsed = time.monotonic() - start
        stderr = probe.stderr.read()
    finally:
        probe.kill()
        probe.wait()
    assert code != 0 and "Timeout" in stderr and "match" in stderr  # faulthandler's traceback of the hang
    assert 1.5 < elapsed < 20
