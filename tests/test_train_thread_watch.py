"""Auto threads re-checked while a run trains (train/thread_watch.py); a fixed count never changes.

The decisions are driven here by a scripted machine (the free cores each window's sample reports,
and the seconds a step takes at each count), so they are asserted step by step and never depend on
how busy this machine is; the runs at the end train for real next to a real CPU-bound neighbour.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from colabmagic.train.thread_watch import BACKOFF_SECONDS, TRIAL_STEPS, ThreadWatch
from colabmagic.train.threads import limited, usable_cores

BUSY = "while True: pass"


class Machine:
    """A scripted machine: the cores other processes leave free, and the seconds a step takes at
    each thread count (a neighbour on a core makes 2 threads 10x slower, as measured on 2 cores)."""

    def __init__(self, free: float, pace: dict[int, float]):
        self.free, self.pace = free, pace
        self.windows = 0

    def begin(self) -> None:
        self.windows += 1

    def sample(self) -> float:
        return self.free


class Run:
    """Steps a ThreadWatch as the loop does: one clock read per step, the event fired when due."""

    def __init__(self, machine: Machine, threads: int = 2, ceiling: int = 2, watch: bool = True):
        self.machine, self.now, self.step = machine, 0.0, 0
        self.applied: list[int] = []
        self.watch = ThreadWatch(threads, ceiling, first_at=0.05, watch=watch, begin=machine.begin,
                                 sample=machine.sample, set_threads=self.applied.append)
        self.watch.restart(self.now, self.step)  # the first epoch starts

    def steps(self, n: int) -> list[int]:
        """Train n steps; the count in force at each."""
        counts = []
        for _ in range(n):
            counts.append(self.watch.threads)
            self.now += self.machine.pace[self.watch.threads]
            self.step += 1
            if self.now >= self.watch.next_time or self.step >= self.watch.next_step:
                self.watch.fire(self.now, self.step)
        return counts


QUIET = {1: 0.004, 2: 0.0025}   # seconds per step: 2 threads 1.6x faster on a quiet machine
BUSY_CORE = {1: 0.004, 2: 0.04}  # and 10x slower with a neighbour on a core


def test_a_neighbour_that_starts_mid_run_makes_the_count_drop_at_the_next_window():
    machine = Machine(free=2.0, pace=QUIET)
    run = Run(machine)
    assert set(run.steps(400)) == {2} and run.applied == []   # a quiet machine keeps both cores
    machine.free, machine.pace = 1.0, BUSY_CORE               # a CPU-bound neighbour takes a core
    counts = run.steps(40)
    assert counts[-1] == 1 and run.applied == [1]
    assert counts.index(1) <= 0.5 / BUSY_CORE[2] + 1          # within one (longest) window of it
    assert set(run.steps(2000)) == {1} and run.applied == [1]  # and it stays there, with no trials


def test_cores_freed_again_are_taken_back_after_a_trial_that_shows_them_faster():
    machine = Machine(free=1.0, pace=BUSY_CORE)
    run = Run(machine)
    run.steps(200)
    assert run.watch.threads == 1
    machine.free, machine.pace = 2.0, QUIET                   # the neighbour has gone
    counts = run.steps(400)
    assert counts[-1] == 2 and run.applied == [1, 2]
    # the trial: a step to warm the pool up, then TRIAL_STEPS timed ones at 2, then kept
    first = counts.index(2)
    assert set(counts[first:]) == {2}


def test_free_cores_that_are_not_faster_lose_their_trial_and_the_next_waits_longer():
    machine = Machine(free=2.0, pace={1: 0.004, 2: 0.0042})   # 2 threads: no faster (a tiny model)
    run = Run(machine, threads=1)
    counts = run.steps(2000)                                   # 8 seconds of training
    trials = [i for i in range(1, len(counts)) if counts[i] == 2 and counts[i - 1] == 1]
    assert trials, "a free core was never tried"
    gaps = [(b - a) * 0.004 for a, b in zip(trials, trials[1:])]
    assert all(gap >= BACKOFF_SECONDS[0] for gap in gaps)      # never more often than the first backoff
    assert gaps == sorted(gaps) or len(gaps) < 2               # and further apart each time
    assert sum(c == 2 for c in counts) <= len(trials) * (TRIAL_STEPS + 1)


def test_a_trial_step_far_slower_than_the_count_before_ends_the_trial_at_once():
    machine = Machine(free=2.0, pace=BUSY_CORE)               # the sample says free, the steps say busy
    run = Run(machine, threads=1)
    counts = run.steps(300)
    first = counts.index(2)
    assert counts[first:first + 3] == [2, 2, 1]                 # the warm-up step, one timed step, back to 1


def test_without_watching_only_the_first_check_is_made():
    """DDP ranks: the first sample decides (down only), nothing after it."""
    machine = Machine(free=1.0, pace=BUSY_CORE)
    run = Run(machine, watch=False)
    counts = run.steps(500)
    assert counts[-1] == 1 and run.applied == [1] and machine.windows == 0
    machine.free, machine.pace = 2.0, QUIET
    assert set(run.steps(500)) == {1}


def test_unreadable_cpu_times_keep_the_count():
    machine = Machine(free=None, pace=QUIET)
    run = Run(machine)
    assert set(run.steps(500)) == {2} and run.applied == []


# --- real runs next to a real CPU-bound neighbour ---------------------------------------------------

class Recorder:
    """A callback noting the intra-op count at each report; it starts a CPU-bound neighbour after
    the first epoch (`neighbour_after` epochs)."""

    def __init__(self, neighbour_after: int | None = None):
        self.seen: list[int] = []
        self.neighbour_after = neighbour_after
        self.neighbour: subprocess.Popen | None = None

    def on_train_begin(self, run):
        self.seen.append(torch.get_num_threads())

    def on_progress(self, progress):
        self.seen.append(torch.get_num_threads())

    def on_epoch_end(self, epoch, metrics):
        self.seen.append(torch.get_num_threads())
        if self.neighbour is None and epoch + 1 == self.neighbour_after:
            self.neighbour = subprocess.Popen([sys.executable, "-c", BUSY])
            time.sleep(0.3)  # let it start spinning

    def on_checkpoint(self, path):
        pass

    def on_train_end(self, result):
        pass

    def stop(self) -> None:
        if self.neighbour is not None:
            self.neighbour.kill()
            self.neighbour.wait()


two_cores = pytest.mark.skipif(usable_cores() < 2, reason="one core: auto is always 1 thread")


@two_cores
def test_an_auto_run_ends_at_one_thread_when_a_neighbour_arrives_mid_run(workdir):
    from colabmagic.train import train
    from colabmagic.train.checkpoint import load_checkpoint

    recorder = Recorder(neighbour_after=1)
    try:
        with limited(2):
            result = train("cnn", "digits", epochs=6, device="cpu", callbacks=[recorder], refresh_per_second=50)
            assert torch.get_num_threads() == 2  # the run's count ends with the run
    finally:
        recorder.stop()
    assert recorder.seen[-1] == 1 and load_checkpoint(result.checkpoint_path)["threads"] == 1


@two_cores
@pytest.mark.parametrize("threads", [1, 2])
def test_a_fixed_count_never_changes_whatever_the_load(workdir, threads):
    from colabmagic.train import train

    recorder = Recorder(neighbour_after=1)
    try:
        with limited(2):
            train("cnn", "digits", epochs=3, device="cpu", threads=threads, callbacks=[recorder],
                  refresh_per_second=50)
    finally:
        recorder.stop()
    assert set(recorder.seen) == {threads}
