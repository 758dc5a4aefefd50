"""What this machine has and how busy it is: NVIDIA GPUs (NVML), CPU, RAM, swap, disks.

`snapshot()` is the one entry point; %gpu_info, the resource monitor and the JupyterLab toolbar
all read it, so a warm call stays well under a millisecond without a GPU. psutil and pynvml load
on the first call, never at import. torch is consulted only when the user already imported it:
asking torch about devices must never cost an import or a CUDA context.

This module holds readings only. How they look (the %gpu_info table as text and HTML) lives with
the table, in colabmagic/snapshot_table.py; Snapshot's __str__/_repr_html_ call it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from .errors import ConfigError
from .nvml import GpuInfo, GpuProcess, MigDevice, read_gpus, shutdown

# /proc/stat counts in clock ticks (10 ms per core): a window of a few ticks reads 0 % or 100 %
# (two readings 20 ms apart on a 2-core machine see 4 ticks). So the share is taken over at least
# CPU_WINDOW_MIN seconds, against the newest earlier reading that old; a window past
# CPU_WINDOW_MAX would report an average of the past minutes, not the present.
CPU_WINDOW_MIN = 0.25  # seconds
CPU_WINDOW_MAX = 10.0  # seconds
CPU_SAMPLE_SPACING = 0.05  # seconds between kept readings: bounds the list under rapid calls
CPU_FIRST_SAMPLE = 0.1  # seconds a reading waits to measure CPU use when no earlier reading serves
_monotonic, _sleep = time.monotonic, time.sleep

__all__ = ["Accelerator", "Disk", "GpuInfo", "GpuProcess", "HostInfo", "MigDevice", "Snapshot",
           "cpu_static", "memory_total", "shutdown", "snapshot", "watch"]


@dataclass
class Disk:
    """One filesystem, measured at the folders that live on it."""

    paths: list[str]  # the working directory and/or the home folder
    total: int  # bytes
    used: int  # bytes
    free: int  # bytes available to an ordinary user (root's reserve excluded)

    @property
    def label(self) -> str:
        return ", ".join(self.paths)


@dataclass
class HostInfo:
    cpu_model: str
    logical_cores: int | None
    physical_cores: int | None
    cpu_percent: float | None  # busy share of all cores over the last CPU_WINDOW_MIN..MAX seconds; None if unknown
    load_average: tuple[float, float, float] | None  # 1, 5, 15 minutes; None where the OS has none
    memory_total: int  # bytes
    memory_available: int  # bytes a new process can get without swapping
    memory_used: int  # bytes: total - available, as Colab counts it
    swap_total: int  # bytes
    swap_used: int  # bytes
    disks: list[Disk]


@dataclass
class Accelerator:
    """A non-NVIDIA device that an already imported torch can use (NVIDIA GPUs come from NVML)."""

    backend: str  # torch's device type: "mps", "xpu"
    index: int
    name: str


@dataclass
class Snapshot:
    taken_at: float  # time.time() when read
    gpus: list[GpuInfo]
    gpu_problem: str | None  # why no NVIDIA GPU is listed; None when NVML answered
    host: HostInfo
    accelerators: list[Accelerator]
    processes_read: bool  # whether GPU process lists were asked for

    def to_dict(self) -> dict:
        """Plain JSON-ready data: every field, bytes as integers, None where not reported."""
        return dataclasses.asdict(self)

    def to_colab_resources(self) -> dict:
        """The body Colab's `/api/colab/resources` returns, with the same keys and units.

        Like Colab, utilisations are fractions 0..1, "freeBytes" is available memory and
        "everUsed" says the GPU holds memory. Values the driver did not report are 0, since
        Colab's frontend expects numbers. Disks are labelled with the folders measured.
        """
        host = self.host
        return {
            "memory": {"totalBytes": host.memory_total, "freeBytes": host.memory_available},
            "disks": [{"filesystem": {"label": d.label, "totalBytes": d.total, "usedBytes": d.used}}
                      for d in host.disks],
            "gpus": [{
                "name": g.name or "",
                "memoryUsedBytes": g.memory_used or 0,
                "memoryTotalBytes": g.memory_total or 0,
                "gpuUtilization": (g.gpu_utilization or 0) / 100,
                "memoryUtilization": (g.memory_utilization or 0) / 100,
                "everUsed": bool(g.memory_used),
            } for g in self.gpus],
        }

    def __str__(self) -> str:
        from .snapshot_table import render_text

        return render_text(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .snapshot_table import render_html

        return render_html(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def _ipython_display_(self):
        """IPython's display: the table, except as the Out of the cell whose %gpu_info -o has
        just shown this very reading (it would appear twice)."""
        from IPython import get_ipython
        from IPython.display import display

        shown, self._shown_in = getattr(self, "_shown_in", None), None
        shell = get_ipython()
        if shown is not None and shell is not None and shown == shell.execution_count:
            return
        display(self._repr_mimebundle_(), raw=True)

    def mark_shown(self, execution_count: int | None) -> None:
        """Say that this reading is on screen for cell `execution_count` (see _ipython_display_)."""
        self._shown_in = execution_count


def snapshot(processes: bool = True, *, cpu_sample: float = CPU_FIRST_SAMPLE) -> Snapshot:
    """Read every GPU and the host now. processes=False skips the per-GPU process lists,
    the slowest part on a busy GPU (a /proc lookup per process).

    CPU use is measured over a window of CPU_WINDOW_MIN..CPU_WINDOW_MAX seconds ending now. When
    no earlier reading gives one (the first call, or the last was long ago), this call waits
    `cpu_sample` seconds to measure one; cpu_sample=0 never waits (cpu_percent may then be None).
    """
    import psutil


    gpus, problem = read_gpus(processes)
    return Snapshot(taken_at=time.time(), gpus=gpus, gpu_problem=problem, host=_read_host(psutil, cpu_sample),
                    accelerators=accelerators(), processes_read=processes)


def watch(seconds: float, count: int | None = None, *, processes: bool = True) -> Iterator[Snapshot]:
    """Yield a snapshot now and then every `seconds`, `count` in all (None: until interrupted)."""
    if not seconds > 0:
        raise ConfigError(f"watch interval must be a number of seconds > 0, not {seconds!r}")
    if count is not None and count < 1:
        raise ConfigError(f"count must be at least 1, not {count!r}")
    return _readings(seconds, count, processes)


def _readings(seconds, count, processes):
    due = time.monotonic()
    taken = 0
    while True:
        yield snapshot(processes)
        taken += 1
        if count is not None and taken >= count:
            return
        # keep the cadence, but never queue up readings after a slow display
        due = max(due + seconds, time.monotonic())
        time.sleep(max(0.0, due - time.monotonic()))


# ---------------------------------------------------------------- host readings


def _read_host(psutil, cpu_sample: float) -> HostInfo:
    model, logical, physical = cpu_static()
    cpu = _cpu_percent(psutil, cpu_sample)
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    try:
        load = tuple(round(x, 2) for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows has no load average
        load = None
    return HostInfo(
        cpu_model=model, logical_cores=logical, physical_cores=physical,
        cpu_percent=cpu, load_average=load,
        memory_total=memory.total, memory_available=memory.available,
        memory_used=memory.total - memory.available,
        swap_total=swap.total, swap_used=swap.used,
        disks=_read_disks(psutil),
    )


@functools.cache
def cpu_static() -> tuple[str, int | None, int | None]:
    """(CPU model, logical cores, physical cores): read once, they do not change."""
    import psutil

    return _cpu_model(), psutil.cpu_count(logical=True), psutil.cpu_count(logical=False)


def memory_total() -> int:
    """Bytes of RAM."""
    import psutil

    return psutil.virtual_memory().total


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


class _CpuClock:
    """Our own CPU-time readings: psutil.cpu_percent(None) shares its state with every caller."""

    lock = threading.Lock()
    samples: list = []  # (time.monotonic(), psutil.cpu_times()), oldest first
    last: tuple[float, float] | None = None  # (time.monotonic(), percent) of the last answer


def _cpu_percent(psutil, sample: float) -> float | None:
    # the real clock even where a test replaces this module's `time` (watch's cadence)
    now = _monotonic()
    times = psutil.cpu_times()
    with _CpuClock.lock:
        base = _cpu_base(now)
        if base is None and sample > 0:
            _sleep(sample)  # no reading to compare with: measure a fresh window
            base = (now, times)
            now, times = _monotonic(), psutil.cpu_times()
        samples = [s for s in _CpuClock.samples if now - s[0] <= CPU_WINDOW_MAX]
        if base is not None and base not in samples:
            samples.append(base)  # the fresh window's start: the base of the next readings too
        if not samples or now - samples[-1][0] >= CPU_SAMPLE_SPACING:
            samples.append((now, times))
        _CpuClock.samples = samples
        # keep one reading at least CPU_WINDOW_MIN old, and every younger one
        old = [i for i, s in enumerate(_CpuClock.samples) if now - s[0] >= CPU_WINDOW_MIN]
        if old:
            del _CpuClock.samples[:old[-1]]
        if base is None:
            # too soon after the last window for a new one: its answer, while it is recent
            last = _CpuClock.last
            return last[1] if last is not None and now - last[0] <= CPU_WINDOW_MAX else None
        percent = _busy_share(base[1], times)
        if percent is not None:
            _CpuClock.last = (now, percent)
        return percent


def _cpu_base(now: float):
    """The newest reading between CPU_WINDOW_MIN and CPU_WINDOW_MAX seconds old, if any."""
    for at, times in reversed(_CpuClock.samples):
        if CPU_WINDOW_MIN <= now - at <= CPU_WINDOW_MAX:
            return at, times
    return None


def _busy_share(before, now) -> float | None:
    # guest time is already inside user time on Linux
    total = _cpu_total(now) - _cpu_total(before)
    idle = (now.idle + getattr(now, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
    if total <= 0:
        return None
    return round(max(0.0, min(100.0, 100 * (total - idle) / total)), 1)


def _cpu_total(times) -> float:
    return sum(times) - getattr(times, "guest", 0) - getattr(times, "guest_nice", 0)


def _read_disks(psutil) -> list[Disk]:
    paths = []
    try:
        paths.append(os.getcwd())
    except OSError:  # the working directory was deleted
        pass
    home = os.path.expanduser("~")
    if home != "~" and home not in paths:
        paths.append(home)
    by_device: dict[int, Disk] = {}
    for path in paths:
        try:
            device = os.stat(path).st_dev
            if device in by_device:  # the same filesystem: one line, both folders
                by_device[device].paths.append(path)
                continue
            usage = psutil.disk_usage(path)
        except OSError:
            continue
        by_device[device] = Disk(paths=[path], total=usage.total, used=usage.used, free=usage.free)
    return list(by_device.values())


_accelerators_seen: tuple[int, list] | None = None


def accelerators() -> list:
    """MPS / XPU devices as system.Accelerator, only when torch is already imported (never imports
    it). Availability never changes within a process, so the answer is kept."""
    global _accelerators_seen
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    if _accelerators_seen is not None and _accelerators_seen[0] == id(torch):
        return _accelerators_seen[1]
    found = []
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    if mps is not None and mps.is_available():
        found.append(Accelerator("mps", 0, "Apple Metal (MPS)"))
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        found.extend(Accelerator("xpu", i, "Intel XPU") for i in range(xpu.device_count()))
    _accelerators_seen = (id(torch), found)
    return found
