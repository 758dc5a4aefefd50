"""Auto threads that stay right while a CPU run trains: the count is re-checked as the load changes.

threads.py's first choice rests on one 50 ms sample. A run that starts in a quiet moment keeps 2
threads when a neighbour then takes a core, and each step waits for the half of every operator
whose core the neighbour holds (3-10x slower on 2 cores; one step took 0.3 s where 1 thread takes
2.5 ms). So the count is an event of the step loop's schedule (schedule.py) that keeps checking:

- every window (WINDOW_SECONDS, from short to long), the cores other processes left free over it
  (the same sample as the first choice): fewer free cores than threads drops the count at once,
  since one thread too few costs at most ~1.6x and one too many 3-10x;
- more free cores than threads is only a hint: a trial times TRIAL_STEPS steps at the larger count
  against the window's pace and keeps it only where it is really faster, leaving at the first
  step that is much slower; a trial that loses waits longer before the next (BACKOFF_SECONDS).

A fixed count (threads=N, a resume's saved count, a GPU run) never makes one of these: a CPU run
is bit-exact only at one count. Under DDP the first choice stands too: a rank's pace includes
waiting for the others in each all-reduce, which says nothing about its own count.
"""

from __future__ import annotations

import math
from typing import Callable

from .threads import free_cores, start_sampling, whole_cores

WINDOW_SECONDS = (0.05, 0.5)   # first and longest window: short after a change, when a mistake is likeliest
TRIAL_STEPS = 3                # timed steps at a candidate count (their median: one slow step is no verdict)
KEEP_GAIN = 0.95               # a larger count stays only if its steps take at most this share of the old
ABORT_SLOWDOWN = 2.0           # a trial step this many times the old pace ends the trial at once
BACKOFF_SECONDS = (1.0, 30.0)  # wait after a lost trial, doubling each time it loses again


class ThreadWatch:
    """The schedule's event for an auto thread count (schedule.Event).

    `threads` is the count the run starts at, at most `ceiling`; the first check, at `first_at`,
    ends the sample that train() started before loading the data (threads.start_sampling), so the
    first window's reading costs no wait. With `watch` False that first check is the only one."""

    def __init__(self, threads: int, ceiling: int, *, first_at: float, watch: bool = True,
                 begin: Callable[[], None] = start_sampling, sample: Callable[[], float | None] = free_cores,
                 set_threads: Callable[[int], None] | None = None):
        """`begin()` starts a window's sample and `sample()` ends it (free cores, None where unreadable):
        threads.py's by default, injected in tests along with `set_threads`."""
        import torch

        self.ceiling, self.watch = ceiling, watch
        self.begin, self.sample = begin, sample
        self.set_threads = set_threads or torch.set_num_threads
        self.threads = threads
        self.next_time, self.next_step = first_at, math.inf
        self.window = WINDOW_SECONDS[0]
        self.backoff, self.retry_at = BACKOFF_SECONDS[0], 0.0
        self.trial: list[float] | None = None   # step times at the candidate count, while a trial runs
        self.before = 0                          # the count a trial falls back to
        self.pace = math.inf                     # seconds per step at the current count, last window
        self.mark = (0.0, 0)                     # (time, global step) the current measurement started at

    def fire(self, now: float, step: int) -> None:
        if self.trial is not None:
            self._judge(now, step)
        else:
            self._check(now, step)

    def restart(self, now: float, step: int) -> None:
        """Measure from here: the pause between two epochs (evaluation, a checkpoint) is no step."""
        self.mark = (now, step)
        if self.trial is not None:
            self.next_step = step + 1

    def _check(self, now: float, step: int) -> None:
        """A window ended: follow the free cores down at once, up only through a trial."""
        since, first = self.mark
        if step > first:
            self.pace = (now - since) / (step - first)
        free = self.sample()
        want = self.threads if free is None else min(whole_cores(free), self.ceiling)
        if want < self.threads:
            self._apply(want)
            self.window = WINDOW_SECONDS[0]
        elif want > self.threads and now >= self.retry_at and self.pace != math.inf:
            self.before, self.trial = self.threads, []
            self._apply(want)
            # the next step warms the pool up at the new count: a mark no step follows leaves it untimed
            self.mark, self.next_time, self.next_step = (now, -2), math.inf, step + 1
            return
        else:
            self.window = min(self.window * 2, WINDOW_SECONDS[1])
        self._watch(now, step, self.window)

    def _judge(self, now: float, step: int) -> None:
        since, first = self.mark
        self.mark = (now, step)
        if step == first + 1:
            self.trial.append(now - since)
        self.next_step = step + 1
        slow = bool(self.trial) and self.trial[-1] > ABORT_SLOWDOWN * self.pace
        if len(self.trial) < TRIAL_STEPS and not slow:
            return
        trial, self.trial = sorted(self.trial), None
        if not slow and trial[len(trial) // 2] <= KEEP_GAIN * self.pace:
            self.pace, self.backoff = trial[len(trial) // 2], BACKOFF_SECONDS[0]
        else:
            self._apply(self.before)
            self.retry_at = now + self.backoff
            self.backoff = min(self.backoff * 2, BACKOFF_SECONDS[1])
        self.window = WINDOW_SECONDS[0]
        self._watch(now, step, self.window)

    def _watch(self, now: float, step: int, seconds: float) -> None:
        """The next window: its sample starts now, and it ends `seconds` from now."""
        self.mark, self.next_step = (now, step), math.inf
        self.next_time = now + seconds if self.watch else math.inf
        if self.watch:
            self.begin()

    def _apply(self, threads: int) -> None:
        threads = max(1, threads)
        if threads != self.threads:
            self.set_threads(threads)
            self.threads = threads
