"""How many intra-op CPU threads a run gets: what the user asked for, or the cores really free.

torch's default, one thread per core, assumes the machine is ours. On a 2-core machine with one
other CPU-bound process, 2 threads make `%train cnn digits` 3.5-6x slower than 1: every operator
splits its work in two and then waits for the half whose core the other process holds. `choose`
samples for SAMPLE_SECONDS how busy the CPUs this process may run on are because of *other*
processes (the CPUs' busy time minus this process's own CPU time), and returns the cores left,
rounded, never more than torch would use by default (or than the user set with
torch.set_num_threads). `limited(n)` applies a count for the length of a run and restores the
previous one after.

GPU runs keep the current count and sample nothing: their CPU side is kernel launches, not math.
`start_sampling()` where a run begins (train() calls it before loading data and building the
model) lets `choose` use that stretch as its sample instead of waiting SAMPLE_SECONDS.
`choose_later` does not wait at all: the loop starts at once and takes the chosen count at the
first step after the sample ends (the first steps are the rest of the sample). Those first steps
run at the cores no other process's thread wants at that moment (machine.cpu.runnable_elsewhere, a
demand read in ~0.1 ms on an idle machine, ~3 ms on a busy one): on a 2-core machine with a
CPU-bound neighbour, steps at 2 threads are 3-10x slower, and a run whose set-up was short would
otherwise spend the rest of the sample at that pace.

The count is part of what makes a CPU run reproducible: torch splits reductions by thread, so runs
at 1 and at 2 threads differ in the last bits (checked: cnn and mlp on digits, one epoch). Auto
therefore depends on the machine's load; a resume should reuse the count its checkpoint ran with,
and a comparison of two runs bit for bit should ask for a count explicitly.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from typing import Iterator

import torch

from ..errors import ConfigError
from ..locale import tr
from ..machine.cpu import busy_seconds, runnable_elsewhere

SAMPLE_SECONDS = 0.05  # long enough for /proc/stat's 10 ms ticks on 2 cores, short next to a run
MAX_SAMPLE_AGE = 5.0   # seconds: a start_sampling() older than this says little about now

_started: tuple[float, float, float] | None = None  # (others' busy seconds, own CPU seconds, perf_counter)


def start_sampling() -> None:
    """Take the first reading of the next choose()'s sample now (cheap: one read of the CPU times)."""
    global _started
    _started = _reading(_cpu_ids())


@dataclass
class Choice:
    """A run's thread count: `threads` to start with; where auto still samples the free cores,
    `settle()` at `ready_at` (a perf_counter time; inf when there is nothing left to decide)."""

    threads: int
    ready_at: float = math.inf
    ceiling: int = 0  # the most it may use (torch's count before the run); 0: `threads`

    def __post_init__(self):
        self.ceiling = self.ceiling or self.threads

    def settle(self) -> int:
        """The count from the sample (waiting for the rest of it, if any); the caller applies it."""
        if self.ready_at != math.inf:
            self.ready_at = math.inf
            free = free_cores()
            if free is not None:
                self.threads = max(1, min(self.threads, whole_cores(free)))  # never above the count it started at
        return self.threads


# A core counts as free when at least this share of it is. The sample sees other processes' use, not
# their demand: while this run's own set-up competes with a CPU-bound neighbour on 2 cores, that
# neighbour shows as ~0.4-0.7 of a core, and round(1.5) = 2 took the busy core (3-6x slower, while
# one thread too few on a quiet machine costs at most ~1.6x).
FREE_SHARE = 0.75


def whole_cores(free: float) -> int:
    """Free cores, as whole threads: 1.8 -> 2, 1.5 -> 1, 0.9 -> 1 (never 0: a run needs one)."""
    return max(1, math.floor(free + 1 - FREE_SHARE))


def choose_later(requested: int | None, device, *, start_low: bool = True) -> Choice:
    """Intra-op threads for this run, without waiting: `requested` when > 0; 0/None = auto (see the
    module docstring), which settles when its sample ends. Until then it runs at the cores other
    processes' threads leave free right now, or, without `start_low`, at the current count (a DDP
    rank: its first choice stands, and only a drop from the starting count follows it)."""
    if requested is not None and (isinstance(requested, bool) or not isinstance(requested, int) or requested < 0):
        raise ConfigError(tr("threads must be a whole number >= 0 (0 = as many as there are free cores), "
                             "got {value!r}").format(value=requested))
    if requested:
        return Choice(requested)
    ceiling = torch.get_num_threads()
    kind = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
    if kind != "cpu" or ceiling <= 1:
        return Choice(ceiling)
    if _started is None or time.perf_counter() - _started[2] > MAX_SAMPLE_AGE:
        start_sampling()
    if _started is None:
        return Choice(ceiling)  # the CPU times cannot be read here
    ready_at = _started[2] + SAMPLE_SECONDS
    start = starting_count(ceiling) if start_low and time.perf_counter() < ready_at else ceiling
    return Choice(start, ready_at=ready_at, ceiling=ceiling)


def starting_count(ceiling: int) -> int:
    """The cores that no other process's runnable thread wants at this moment, at most `ceiling`.
    The demand is the whole machine's: where this process may use only part of it (CPU affinity, a
    cgroup quota), it says nothing of that part, and the count stays `ceiling`."""
    cores = usable_cores()
    if cores != os.cpu_count() or _cgroup_quota() is not None:
        return ceiling
    others = runnable_elsewhere()
    return ceiling if others is None else max(1, min(ceiling, cores - others))


def choose(requested: int | None, device) -> int:
    """choose_later's count, decided now (waiting for the rest of the sample, if any)."""
    return choose_later(requested, device, start_low=False).settle()


@contextlib.contextmanager
def limited(n: int) -> Iterator[int]:
    """torch.set_num_threads(n) inside the block; the previous count comes back after it."""
    previous = torch.get_num_threads()
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def usable_cores() -> int:
    """CPUs this process may run on (affinity), capped by a cgroup CPU quota (containers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def free_cores(seconds: float | None = None) -> float | None:
    """Cores not used by other processes, over at least `seconds` (SAMPLE_SECONDS by default; from a
    recent start_sampling() on, or from now, waiting); None where the CPU times cannot be read."""
    global _started
    seconds = SAMPLE_SECONDS if seconds is None else seconds
    cpus = _cpu_ids()
    first, _started = _started, None
    if first is not None and time.perf_counter() - first[2] > MAX_SAMPLE_AGE:
        first = None  # too old to say anything about now
    if first is None:
        first = _reading(cpus)
        if first is None:
            return None
    time.sleep(max(0.0, seconds - (time.perf_counter() - first[2])))  # the rest of the sample, if any
    last = _reading(cpus)
    if last is None:
        return None
    busy, own, wall = (b - a for a, b in zip(first, last))
    if wall <= 0:
        return None
    others = max(0.0, busy - own) / wall  # in cores
    return max(0.0, usable_cores() - others)


def _reading(cpus: list[int] | None) -> tuple[float, float, float] | None:
    busy = busy_seconds(cpus)  # machine.cpu: the one CPU sampler
    return None if busy is None else (busy, time.process_time(), time.perf_counter())


def _cpu_ids() -> list[int] | None:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None  # all of them


def _cgroup_quota() -> float | None:
    """cgroup v2 `cpu.max` (quota/period, in cores) of this process's cgroup, None when unlimited."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as file:
            path = next((line.strip().split(":", 2)[2] for line in file if line.startswith("0::")), None)
        if path is None:
            return None
        with open(f"/sys/fs/cgroup{path.rstrip('/')}/cpu.max", encoding="utf-8") as file:
            quota, period = file.read().split()[:2]
    except (OSError, ValueError, StopIteration):
        return None
    return None if quota == "max" else int(quota) / int(period)
