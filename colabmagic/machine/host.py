"""The host's readings: CPU, RAM, swap, load and the disks under the working and home folders."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .cpu import CPU_FIRST_SAMPLE, SAMPLER, CpuSampler, cpu_static

__all__ = ["Disk", "HostInfo", "memory_total", "read_host"]


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


def read_host(cpu_sample: float = CPU_FIRST_SAMPLE, sampler: CpuSampler = SAMPLER) -> HostInfo:
    """The host now; CPU use from `sampler` (which may wait `cpu_sample` seconds, see CpuSampler)."""
    import psutil

    model, logical, physical = cpu_static()
    cpu = sampler.percent(cpu_sample)
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


def memory_total() -> int:
    """Bytes of RAM."""
    import psutil

    return psutil.virtual_memory().total


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
