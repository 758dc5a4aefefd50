"""CPU threads per run (train/threads.py): a requested count is kept, auto counts only free cores."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import pytest
import torch

from colabmagic.errors import ConfigError
from colabmagic.train.threads import choose, free_cores, limited, usable_cores

BUSY = "while True: pass"


@contextlib.contextmanager
def competing(n: int):
    """N CPU-bound processes of others' for the length of the block, spinning when it begins."""
    competitors = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(n)]
    try:
        time.sleep(0.3)  # let them start spinning
        yield
    finally:
        for process in competitors:
            process.kill()
            process.wait()


def test_a_requested_count_is_honoured_on_any_device():
    assert choose(3, "cpu") == 3
    assert choose(1, torch.device("cpu")) == 1
    assert choose(64, "cpu") == 64          # more than the cores: the user asked, the user gets it
    assert choose(2, "cuda:0") == 2


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_a_bad_count_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="threads must be a whole number >= 0"):
        choose(bad, "cpu")


def test_limited_sets_the_count_and_restores_it_even_after_an_error():
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    with limited(other) as n:
        assert n == other and torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="inside"):
        with limited(other):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_a_gpu_run_keeps_the_current_count_without_sampling(monkeypatch):
    from colabmagic.train import threads

    def no_sample(*args, **kwargs):
        raise AssertionError("a GPU run sampled the CPUs")

    monkeypatch.setattr(threads, "free_cores", no_sample)
    with limited(2):
        assert choose(None, "cuda:0") == 2 and choose(0, torch.device("mps")) == 2


def test_auto_never_goes_above_what_torch_was_set_to():
    with limited(1):
        assert choose(None, "cpu") == 1
        assert choose(0, "cpu") == 1


@pytest.mark.skipif(usable_cores() < 2, reason="one core: auto is always 1 thread")
def test_auto_leaves_the_cores_that_competing_processes_hold():
    """A real CPU-bound process on every core but one: auto picks a single thread, where torch's
    default (one per core) would make each operator wait for a preempted half."""
    cores = usable_cores()
    with competing(cores - 1):
        with limited(cores):
            assert free_cores(0.2) <= 1.5
            assert choose(None, "cpu") == 1
            assert choose(0, "cpu") == 1
            assert choose(2, "cpu") == 2   # an explicit count still wins on a busy machine


def test_a_sample_started_earlier_needs_no_wait(monkeypatch):
    from colabmagic.train import threads

    # A long window keeps "no wait" and "a full wait" apart on a busy machine (CI's 2 cores).
    monkeypatch.setattr(threads, "SAMPLE_SECONDS", 0.5)
    threads.start_sampling()
    time.sleep(0.6)  # what loading the data and building the model take
    with limited(2):
        start = time.perf_counter()
        choose(None, "cpu")
        assert time.perf_counter() - start < 0.25
        start = time.perf_counter()
        choose(None, "cpu")  # each start serves one choice: this one samples afresh
        assert time.perf_counter() - start >= 0.5


@pytest.mark.skipif(usable_cores() < 2, reason="one core: auto is always 1 thread")
def test_a_started_sample_sees_a_competitor_too():
    from colabmagic.train import threads

    cores = usable_cores()
    with competing(cores - 1):
        threads.start_sampling()
        time.sleep(0.2)
        with limited(cores):
            assert choose(None, "cpu") == 1


class ThreadsSeen:
    """A callback noting the intra-op count in force at each progress report and epoch end."""

    def __init__(self):
        self.seen = []

    def on_train_begin(self, run):
        self.seen.append(torch.get_num_threads())

    def on_progress(self, progress):
        self.seen.append(torch.get_num_threads())

    def on_epoch_end(self, epoch, metrics):
        self.seen.append(torch.get_num_threads())

    def on_checkpoint(self, path):
        pass

    def on_train_end(self, result):
        pass


@pytest.mark.skipif(usable_cores() < 2, reason="one core: auto is always 1 thread")
def test_a_run_on_a_busy_machine_takes_the_free_cores_from_its_first_steps_on(workdir):
    """fit() settles the count when the sample ends, without waiting for it; the count it settled on
    is what the checkpoint records (a resume reuses it)."""
    from colabmagic.train import train
    from colabmagic.train.checkpoint import load_checkpoint

    cores = usable_cores()
    seen = ThreadsSeen()
    with competing(cores - 1):
        with limited(cores):
            result = train("cnn", "digits", epochs=2, device="cpu", callbacks=[seen], refresh_per_second=50)
            assert torch.get_num_threads() == cores  # the run's count ends with the run
    # on_train_begin comes before the count settles (torch's count, where the set-up outlasted the
    # sample); the first report is at 1: the rest of the sample ran at the cores no other thread
    # wanted, or the count settled before the first step (later, a misread sample may try 2 for a
    # few steps: the watch's tests cover that)
    assert len(seen.seen) > 2 and seen.seen[1] == 1 and seen.seen[-1] == 1
    assert load_checkpoint(result.checkpoint_path)["threads"] == 1


def test_auto_threads_never_hold_a_run_up(workdir, monkeypatch):
    """A run shorter than the sample ends at the count it started with, without waiting for it."""
    from colabmagic.train import threads, train

    monkeypatch.setattr(threads, "SAMPLE_SECONDS", 3600.0)
    with limited(2):
        result = train("mlp", "digits", epochs=1, device="cpu")
    assert result.wall_seconds < 60


@pytest.mark.parametrize("free, threads", [(2.0, 2), (1.8, 2), (1.75, 2), (1.6, 1), (1.5, 1), (1.0, 1),
                                           (0.9, 1), (0.0, 1), (3.3, 3), (3.7, 3), (3.8, 4)])
def test_a_core_counts_as_free_when_three_quarters_of_it_are(free, threads):
    """A CPU-bound neighbour measured at half a core (it competed with this run's own set-up) must
    not leave its core counted as free: round(1.5) = 2 did, once in a full suite run."""
    from colabmagic.train.threads import whole_cores

    assert whole_cores(free) == threads


def spinning(n: int):
    """N threads of this process that stay runnable (hashing releases the GIL)."""
    import hashlib
    import threading

    stop = threading.Event()
    block = bytes(8 << 20)

    def spin():
        while not stop.is_set():
            hashlib.sha256(block).digest()

    workers = [threading.Thread(target=spin, daemon=True) for _ in range(n)]
    for worker in workers:
        worker.start()
    return stop, workers


def test_the_demand_counts_other_processes_threads_and_not_this_ones():
    from colabmagic.machine.cpu import runnable_elsewhere

    stop, workers = spinning(2)
    try:
        time.sleep(0.1)
        # this process's runnable threads are left out (its spinning ones are runnable in every read,
        # so the least of a few readings would show them)
        assert min(runnable_elsewhere() for _ in range(3)) < 2
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    with competing(2):
        assert runnable_elsewhere() >= 2   # runnable in every read, running or waiting for a core


@pytest.mark.skipif(usable_cores() < 2, reason="one core: auto is always 1 thread")
def test_the_starting_count_leaves_the_cores_other_threads_want():
    import os

    from colabmagic.train import threads

    cores = usable_cores()
    with competing(cores - 1):
        if cores == os.cpu_count() and threads._cgroup_quota() is None:
            assert threads.starting_count(cores) == 1
        else:  # the machine-wide demand says nothing of this process's share
            assert threads.starting_count(cores) == cores
        assert threads.starting_count(1) == 1


def test_a_run_whose_sample_is_not_ready_starts_at_the_starting_count_under_torchs_count(monkeypatch):
    from colabmagic.train import threads

    monkeypatch.setattr(threads, "starting_count", lambda ceiling: 1)
    with limited(2):
        threads.start_sampling()
        choice = threads.choose_later(None, "cpu")
        assert (choice.threads, choice.ceiling) == (1, 2) and choice.ready_at != float("inf")
        threads.start_sampling()
        ddp = threads.choose_later(None, "cpu", start_low=False)  # a DDP rank: the current count
        assert (ddp.threads, ddp.ceiling) == (2, 2)
