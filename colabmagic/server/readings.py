"""Readings for the toolbar, taken off the event loop and shared by every poller.

200 browser tabs polling every second must cost one NVML/psutil reading a second, not 200:
`Cached` keeps the last value for `max_age` seconds, and while a reading is under way every
caller awaits that same reading (single flight) instead of queueing another one in the executor.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from typing import Any, Callable

__all__ = ["Cached", "kernel_pids", "read_resources"]


class Cached:
    """The value of `read()` (a blocking call run in `executor`), at most `max_age` seconds old."""

    def __init__(self, read: Callable[..., Any], executor: Executor, max_age: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self._read = read
        self._executor = executor
        self.max_age = max_age
        self._clock = clock
        self._value: Any = None
        self._taken: float | None = None
        self._pending: asyncio.Future | None = None

    async def get(self, *args) -> Any:
        """The cached value, or a fresh reading shared with every concurrent caller.
        `args` go to `read()` when this call starts the reading (the first caller's win)."""
        if self._taken is not None and self._clock() - self._taken < self.max_age:
            return self._value
        if self._pending is None:
            loop = asyncio.get_running_loop()
            self._pending = loop.run_in_executor(self._executor, self._read, *args)
            self._pending.add_done_callback(self._settle)
        # shield: one caller's disconnect must not cancel the reading the others wait for
        return await asyncio.shield(self._pending)

    def _settle(self, future: asyncio.Future) -> None:
        self._pending = None
        if not future.cancelled() and future.exception() is None:
            self._value = future.result()
            self._taken = self._clock()

    def invalidate(self) -> None:
        self._taken = None


def kernel_pids(kernel_manager) -> dict[str, int]:
    """kernel id -> OS pid for every local kernel (cheap attribute reads; call on the loop)."""
    pids = {}
    for kernel_id in list(kernel_manager.list_kernel_ids()):
        try:
            kernel = kernel_manager.get_kernel(kernel_id)
        except KeyError:  # shut down since we listed it
            continue
        provisioner = getattr(kernel, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        if pid is None:  # jupyter_client without provisioners
            pid = getattr(getattr(kernel, "kernel", None), "pid", None)
        if isinstance(pid, int):
            pids[kernel_id] = pid
    return pids


def read_resources(pids: dict[str, int]) -> dict:
    """Colab's /api/colab/resources body plus `kernels` (RSS of each kernel and its children).

    Blocking (NVML, psutil, /proc): run it in an executor.
    """
    import psutil

    from ..machine import snapshot

    snap = snapshot(processes=False)
    body = snap.to_colab_resources()
    kernels = []
    for kernel_id, pid in pids.items():
        try:
            process = psutil.Process(pid)
            rss = process.memory_info().rss
            for child in process.children(recursive=True):
                try:
                    rss += child.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        kernels.append({"id": kernel_id, "pid": pid, "rssBytes": rss})
    body["kernels"] = kernels
    body["cpu"] = {"percent": snap.host.cpu_percent, "cores": snap.host.logical_cores}
    body["gpuProblem"] = snap.gpu_problem
    body["takenAt"] = snap.taken_at
    return body
