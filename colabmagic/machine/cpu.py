"""The CPU: what it is (model, cores) and the one sampler of how busy it is.

Every CPU-use figure in colabmagic comes from `cpu_times`: the %gpu_info / %resources share
(CpuSampler, a window over the whole machine) and %train's free-core count (train/threads.py, busy
seconds of the CPUs it may run on). Guest time is left out (Linux counts it inside user time too)
and iowait counts as idle.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from typing import Callable, NamedTuple

__all__ = ["CPU_FIRST_SAMPLE", "CpuSampler", "CpuTimes", "SAMPLER", "busy_seconds", "cpu_static", "cpu_times",
           "runnable_elsewhere"]

# /proc/stat counts in clock ticks (10 ms per core): a window of a few ticks reads 0 % or 100 %
# (two readings 20 ms apart on a 2-core machine see 4 ticks). So the share is taken over at least
# CPU_WINDOW_MIN seconds, against the newest earlier reading that old; a window past
# CPU_WINDOW_MAX would report an average of the past minutes, not the present.
CPU_WINDOW_MIN = 0.25  # seconds
CPU_WINDOW_MAX = 10.0  # seconds
CPU_SAMPLE_SPACING = 0.05  # seconds between kept readings: bounds the list under rapid calls
CPU_FIRST_SAMPLE = 0.1  # seconds a reading waits to measure CPU use when no earlier reading serves


class CpuTimes(NamedTuple):
    """Seconds since boot, every process together, summed over the CPUs read."""

    busy: float
    total: float


def cpu_times(cpus: list[int] | None = None) -> CpuTimes | None:
    """The CPU times of the CPUs numbered `cpus` (None or empty: all of them); None where they cannot be read."""
    import psutil

    try:
        chosen = psutil.cpu_times(percpu=True) if cpus else [psutil.cpu_times()]
    except (OSError, RuntimeError, NotImplementedError):
        return None
    if cpus:
        chosen = [chosen[i] for i in cpus if i < len(chosen)]
    if not chosen:
        return None
    busy = total = 0.0
    for times in chosen:
        whole = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        total += whole
        busy += whole - times.idle - getattr(times, "iowait", 0.0)
    return CpuTimes(busy, total)


def busy_seconds(cpus: list[int] | None = None) -> float | None:
    """Seconds the CPUs numbered `cpus` (None: all) have been busy since boot; None if unreadable."""
    times = cpu_times(cpus)
    return None if times is None else times.busy


def runnable_elsewhere(reads: int = 4, spacing: float = 0.0005) -> int | None:
    """Threads of other processes that want a CPU right now (running or waiting to run); None where
    Linux's counts cannot be read. /proc/stat's procs_running less this process's own runnable threads
    at the same moment, the least of a few reads `spacing` seconds apart (~3 ms where busy): a CPU-bound
    neighbour is runnable in every read, also while this process keeps it from running (a demand,
    where cpu_times gives use), while a passing thread is not (on an idle machine one read in ten saw
    one, just after torch's pool had worked). It counts the whole machine, every CPU and cgroup alike."""
    least = None
    for read in range(reads):
        if read:
            time.sleep(spacing)
        machine, own = _procs_running(), _own_runnable()
        if machine is None or own is None:
            return None
        others = max(0, machine - own)
        least = others if least is None else min(least, others)
        if least == 0:
            break  # none can be fewer: an idle machine costs one read (~0.1 ms)
    return least


def _procs_running() -> int | None:
    try:
        with open("/proc/stat", "rb") as file:
            for line in file:
                if line.startswith(b"procs_running "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _own_runnable() -> int | None:
    """This process's threads in state R (the reading one included: it is running)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    running = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            continue  # the thread ended meanwhile
        running += stat.rpartition(b")")[2][1:2] == b"R"  # the state follows the (command name)
    return running


def busy_share(before: CpuTimes, after: CpuTimes) -> float | None:
    """Percent of the CPU time between two readings that was busy (0..100, one decimal)."""
    total = after.total - before.total
    if total <= 0:
        return None
    return round(max(0.0, min(100.0, 100 * (after.busy - before.busy) / total)), 1)


class CpuSampler:
    """The machine's CPU use over a recent window, from readings it keeps between calls.

    Its own readings: psutil.cpu_percent(None) shares its state with every caller in the process."""

    def __init__(self, read: Callable[[], CpuTimes | None] = cpu_times,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._read, self._clock, self._sleep = read, clock, sleep
        self._lock = threading.Lock()
        self._samples: list[tuple[float, CpuTimes]] = []  # (clock(), times), oldest first
        self._last: tuple[float, float] | None = None  # (clock(), percent) of the last answer

    def reset(self) -> None:
        """Forget every reading: the next call measures afresh."""
        with self._lock:
            self._samples, self._last = [], None

    @property
    def kept(self) -> int:
        """How many readings are kept (bounded however often it is called)."""
        return len(self._samples)

    def percent(self, wait: float = CPU_FIRST_SAMPLE) -> float | None:
        """Busy share of all cores over the last CPU_WINDOW_MIN..CPU_WINDOW_MAX seconds. When no
        earlier reading gives such a window, wait `wait` seconds to measure one (0: never wait;
        the answer may then be None)."""
        now, times = self._clock(), self._read()
        if times is None:
            return None
        with self._lock:
            base = self._base(now)
            if base is None and wait > 0:
                self._sleep(wait)  # no reading to compare with: measure a fresh window
                base = (now, times)
                now, times = self._clock(), self._read() or times
            self._keep(now, times, base)
            if base is None:
                # too soon after the last window for a new one: its answer, while it is recent
                last = self._last
                return last[1] if last is not None and now - last[0] <= CPU_WINDOW_MAX else None
            percent = busy_share(base[1], times)
            if percent is not None:
                self._last = (now, percent)
            return percent

    def _base(self, now: float):
        """The newest reading between CPU_WINDOW_MIN and CPU_WINDOW_MAX seconds old, if any."""
        for sample in reversed(self._samples):
            if CPU_WINDOW_MIN <= now - sample[0] <= CPU_WINDOW_MAX:
                return sample
        return None

    def _keep(self, now: float, times: CpuTimes, base) -> None:
        samples = [s for s in self._samples if now - s[0] <= CPU_WINDOW_MAX]
        if base is not None and base not in samples:
            samples.append(base)  # the fresh window's start: the base of the next readings too
        if not samples or now - samples[-1][0] >= CPU_SAMPLE_SPACING:
            samples.append((now, times))
        # keep one reading at least CPU_WINDOW_MIN old, and every younger one
        old = [i for i, s in enumerate(samples) if now - s[0] >= CPU_WINDOW_MIN]
        self._samples = samples[old[-1]:] if old else samples


SAMPLER = CpuSampler()  # this process's: every snapshot shares its window


@functools.cache
def cpu_static() -> tuple[str, int | None, int | None]:
    """(CPU model, logical cores, physical cores): read once, they do not change."""
    import psutil

    return _cpu_model(), psutil.cpu_count(logical=True), psutil.cpu_count(logical=False)


def _cpu_model() -> str:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    # x86 says "model name"; many ARM kernels only "Model" or "Hardware"
                    if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                        return value.strip()
        except OSError:
            pass
    elif sys.platform == "darwin":
        import subprocess

        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=2)
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"
