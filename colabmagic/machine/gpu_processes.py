"""The processes holding a context on a GPU, as NVML lists them, described from this machine's /proc.

NVML's pids are the driver's: in a container they can be the host's, and under MPS the MPS
server's, so the local process with that number may be another one entirely. It is described,
or called this kernel, only when it really holds a GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .nvml import Library

__all__ = ["GPU_DEVICE_PREFIX", "GpuProcess", "read_processes"]

GPU_DEVICE_PREFIX = "/dev/nvidia"  # the device files a process using an NVIDIA GPU holds open


@dataclass
class GpuProcess:
    """A process holding a context on a GPU."""

    pid: int
    user: str | None
    gpu_memory: int | None  # bytes; None where the driver does not account it (MIG, Windows WDDM)
    command: str | None
    kind: str  # "compute", "graphics" or "compute+graphics"
    this_kernel: bool  # the process running this Python (os.getpid())


def read_processes(library: Library, handle, own_pid: int) -> list[GpuProcess] | None:
    """The GPU's processes, most GPU memory first; None when the driver lists neither kind."""
    compute = _running(library, "nvmlDeviceGetComputeRunningProcesses", handle)
    graphics = _running(library, "nvmlDeviceGetGraphicsRunningProcesses", handle)
    if compute is None and graphics is None:
        return None
    found: dict[int, GpuProcess] = {}
    for kind, entries in (("compute", compute or []), ("graphics", graphics or [])):
        for entry in entries:
            seen = found.get(entry.pid)
            if seen is not None:
                seen.kind = "compute+graphics"
                continue
            local = holds_gpu(entry.pid) is not False  # unknown (another user's process): trust it
            user, command = _describe(library, entry.pid, local)
            found[entry.pid] = GpuProcess(pid=entry.pid, user=user, gpu_memory=entry.usedGpuMemory,
                                          command=command, kind=kind,
                                          this_kernel=entry.pid == own_pid and holds_gpu(own_pid) is True)
    return sorted(found.values(), key=lambda p: -(p.gpu_memory or 0))


def _running(library: Library, name: str, handle):
    """nvmlDeviceGet{Compute,Graphics}RunningProcesses: the _v3 call nvidia-ml-py makes raises
    NVMLLibraryMismatchError (not an NVMLError) on drivers before ~R510, which lack it: then _v2."""
    nvml = library.pynvml
    try:
        return library.query(getattr(nvml, name), handle)
    except nvml.NVMLLibraryMismatchError:
        fallback = getattr(nvml, name + "_v2", None)
        if fallback is None:
            return None
        try:
            return library.query(fallback, handle)
        except nvml.NVMLLibraryMismatchError:
            return None


def holds_gpu(pid: int) -> bool | None:
    """Whether local process PID has an NVIDIA device open; None when its files cannot be read."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False  # no such local process
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(GPU_DEVICE_PREFIX):
                return True
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return False


def _describe(library: Library, pid: int, local: bool) -> tuple[str | None, str | None]:
    """User and command line of a pid; NVML's process name where the OS hides the process
    (another user's process, or a pid from the host's namespace inside a container) or where the
    local process of that number is not the one using the GPU (`local` False)."""
    import psutil

    name = library.pynvml.nvmlSystemGetProcessName
    if not local:
        return None, library.query(name, pid)
    user = command = None
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            user = process.username()
            command = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        pass  # gone, hidden or foreign: keep what was read and ask NVML for the name
    return user, command or library.query(name, pid)
