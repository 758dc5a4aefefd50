"""What this machine has and how busy it is, in one reading: NVIDIA GPUs, torch accelerators, the host.

`snapshot()` is the one entry point; %gpu_info, the resource monitor and the JupyterLab toolbar
all read it, so a warm call stays well under a millisecond without a GPU. psutil and pynvml load
on the first call, never at import. How a reading looks (text and HTML) is machine.table's.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Iterator

from ..errors import ConfigError
from ..locale import tr
from .accelerators import Accelerator, accelerators
from .cpu import CPU_FIRST_SAMPLE, SAMPLER, CpuSampler
from .gpus import GpuInfo, read_gpus
from .host import HostInfo, read_host

__all__ = ["CLOCK", "Snapshot", "snapshot", "watch"]

# watch's clock: anything with monotonic(), sleep() and time(), as the time module has
CLOCK = time


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
        from .table import render_text

        return render_text(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .table import render_html

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


def snapshot(processes: bool = True, *, cpu_sample: float = CPU_FIRST_SAMPLE,
             sampler: CpuSampler = SAMPLER) -> Snapshot:
    """Read every GPU and the host now. processes=False skips the per-GPU process lists,
    the slowest part on a busy GPU (a /proc lookup per process).

    CPU use is `sampler`'s share over a recent window: when no earlier reading gives one (the first
    call, or the last was long ago), this call waits `cpu_sample` seconds to measure one;
    cpu_sample=0 never waits (cpu_percent may then be None).
    """
    gpus, problem = read_gpus(processes)
    return Snapshot(taken_at=CLOCK.time(), gpus=gpus, gpu_problem=problem, host=read_host(cpu_sample, sampler),
                    accelerators=accelerators(), processes_read=processes)


def watch(seconds: float, count: int | None = None, *, processes: bool = True, clock=None) -> Iterator[Snapshot]:
    """Yield a snapshot now and then every `seconds`, `count` in all (None: until interrupted).
    `clock` (CLOCK when None) paces the readings."""
    if not seconds > 0:
        raise ConfigError(tr("watch interval must be a number of seconds > 0, not {value!r}").format(value=seconds))
    if count is not None and count < 1:
        raise ConfigError(tr("count must be at least 1, not {value!r}").format(value=count))
    return _readings(seconds, count, processes, CLOCK if clock is None else clock)


def _readings(seconds, count, processes, clock):
    due = clock.monotonic()
    taken = 0
    while True:
        yield snapshot(processes)
        taken += 1
        if count is not None and taken >= count:
            return
        # keep the cadence, but never queue up readings after a slow display
        due = max(due + seconds, clock.monotonic())
        clock.sleep(max(0.0, due - clock.monotonic()))
