"""NVIDIA GPU readings through NVML (the nvidia-ml-py package, imported as pynvml).

NVML is initialised once, on the first reading, never at import: `import pynvml` and nvmlInit cost
tens of milliseconds. Device handles and the fields that cannot change while the driver is loaded
(name, UUID, versions, compute capability) are read once and cached; the rest is read per call.

Every field is read on its own: a field the GPU does not support, or any other NVML error, leaves
that field None ("N/A" on screen) instead of failing the whole reading.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass


@dataclass
class GpuProcess:
    """A process holding a context on a GPU."""

    pid: int
    user: str | None
    gpu_memory: int | None  # bytes; None where the driver does not account it (MIG, Windows WDDM)
    command: str | None
    kind: str  # "compute", "graphics" or "compute+graphics"
    this_kernel: bool  # the process running this Python (os.getpid())


@dataclass
class MigDevice:
    """One MIG slice of a GPU whose MIG mode is on."""

    index: int
    name: str | None
    uuid: str | None
    memory_used: int | None  # bytes
    memory_total: int | None  # bytes


@dataclass
class GpuInfo:
    """One NVIDIA GPU as NVML sees it. None means the driver did not report the field."""

    index: int  # NVML index (nvidia-smi order; CUDA_VISIBLE_DEVICES does not apply here)
    name: str | None
    uuid: str | None
    driver_version: str | None
    cuda_driver_version: str | None  # newest CUDA the driver supports, e.g. "12.4"
    compute_capability: str | None  # e.g. "9.0"
    memory_used: int | None  # bytes
    memory_total: int | None  # bytes
    gpu_utilization: int | None  # percent of the last sample period in which a kernel ran
    memory_utilization: int | None  # percent of the last sample period memory was read or written
    temperature: int | None  # degrees Celsius, GPU die
    power_draw: float | None  # watts
    power_limit: float | None  # watts, the enforced limit
    sm_clock: int | None  # MHz
    pcie_generation: int | None  # current link generation
    pcie_width: int | None  # current link width, lanes
    persistence_mode: bool | None
    mig_mode: bool | None  # current MIG mode
    mig_devices: list[MigDevice]
    processes: list[GpuProcess] | None  # None when not read or not readable

    @property
    def memory_fraction(self) -> float | None:
        if self.memory_used is None or not self.memory_total:
            return None
        return self.memory_used / self.memory_total


# NVML's reasons for failing to start, in words a user can act on
_INIT_REASONS = {
    "NVMLError_LibraryNotFound": "NVML library not found (no NVIDIA driver installed here)",
    "NVMLError_DriverNotLoaded": "NVIDIA driver not loaded (is the kernel module installed and loaded?)",
    "NVMLError_NoPermission": "no permission to talk to the NVIDIA driver (check /dev/nvidia* access)",
    "NVMLError_LibRmVersionMismatch": "NVML library and kernel driver versions differ (reboot after a driver update)",
    "NVMLError_InsufficientPower": "a GPU lacks external power (check its power cables)",
    "NVMLError_GpuIsLost": "the GPU fell off the bus (a reboot is usually needed)",
    "NVMLError_Unknown": "the NVIDIA driver gave an unknown error",
}


class _State:
    """What NVML gave us on the first call: handles and static fields, or why there is no GPU."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = False
        self.problem: str | None = None
        self.pynvml = None
        self.handles: list = []
        self.static: list[dict] = []


_state = _State()


def read_gpus(processes: bool = True) -> tuple[list[GpuInfo], str | None]:
    """Every GPU NVML sees, or ([], why none is visible)."""
    if not _state.started:
        _start()
    if _state.problem is not None:
        return [], _state.problem
    nvml = _state.pynvml
    own_pid = os.getpid()
    return [_read_gpu(nvml, handle, static, processes, own_pid)
            for handle, static in zip(_state.handles, _state.static)], None


def shutdown() -> None:
    """Release NVML; the next reading starts it again (and re-reads the GPU list)."""
    with _state.lock:
        if _state.started and _state.problem is None:
            try:
                _state.pynvml.nvmlShutdown()
            except _state.pynvml.NVMLError:
                pass  # the driver went away: there is nothing left to release
        _state.started = False
        _state.problem = None
        _state.handles, _state.static = [], []


def _start() -> None:
    with _state.lock:
        if _state.started:
            return
        # A failure is remembered for the process: retrying would re-probe the library each time.
        _state.problem = _open()
        _state.started = True


def _open() -> str | None:
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed (pip install nvidia-ml-py)"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        return _INIT_REASONS.get(type(err).__name__, f"NVML failed to start: {err}")
    try:
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    except pynvml.NVMLError as err:
        _field(pynvml, pynvml.nvmlShutdown)
        return _INIT_REASONS.get(type(err).__name__, f"NVML could not list the GPUs: {err}")
    if not handles:
        _field(pynvml, pynvml.nvmlShutdown)
        return "the NVIDIA driver is loaded but reports no GPU"
    driver = _field(pynvml, pynvml.nvmlSystemGetDriverVersion)
    cuda = _field(pynvml, pynvml.nvmlSystemGetCudaDriverVersion)
    cuda = f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None
    _state.pynvml = pynvml
    _state.handles = handles
    _state.static = [_read_static(pynvml, i, h, driver, cuda) for i, h in enumerate(handles)]
    return None


def _read_static(nvml, index, handle, driver, cuda) -> dict:
    capability = _field(nvml, nvml.nvmlDeviceGetCudaComputeCapability, handle)
    return {
        "index": index,
        "name": _field(nvml, nvml.nvmlDeviceGetName, handle),
        "uuid": _field(nvml, nvml.nvmlDeviceGetUUID, handle),
        "driver_version": driver,
        "cuda_driver_version": cuda,
        "compute_capability": f"{capability[0]}.{capability[1]}" if capability else None,
    }


def _field(nvml, fn, *args):
    """One NVML call; None when the GPU does not support it or the driver says no."""
    try:
        return fn(*args)
    except nvml.NVMLError:
        return None


def _read_gpu(nvml, handle, static, processes, own_pid) -> GpuInfo:
    used, total = _memory(nvml, handle)
    rates = _field(nvml, nvml.nvmlDeviceGetUtilizationRates, handle)
    power = _field(nvml, nvml.nvmlDeviceGetPowerUsage, handle)
    limit = _field(nvml, nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    persistence = _field(nvml, nvml.nvmlDeviceGetPersistenceMode, handle)
    mig = _field(nvml, nvml.nvmlDeviceGetMigMode, handle)
    mig_on = None if mig is None else mig[0] == nvml.NVML_DEVICE_MIG_ENABLE
    return GpuInfo(
        **static,
        memory_used=used,
        memory_total=total,
        gpu_utilization=None if rates is None else rates.gpu,
        memory_utilization=None if rates is None else rates.memory,
        temperature=_temperature(nvml, handle),
        power_draw=None if power is None else power / 1000,  # NVML reports milliwatts
        power_limit=None if limit is None else limit / 1000,
        sm_clock=_field(nvml, nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
        pcie_generation=_field(nvml, nvml.nvmlDeviceGetCurrPcieLinkGeneration, handle),
        pcie_width=_field(nvml, nvml.nvmlDeviceGetCurrPcieLinkWidth, handle),
        persistence_mode=None if persistence is None else persistence == nvml.NVML_FEATURE_ENABLED,
        mig_mode=mig_on,
        mig_devices=_read_mig_devices(nvml, handle) if mig_on else [],
        processes=_read_processes(nvml, handle, own_pid) if processes else None,
    )


def _memory(nvml, handle) -> tuple[int | None, int | None]:
    # The v2 struct reports driver-reserved memory apart from "used", as nvidia-smi does since
    # driver 510; older drivers lack it and v1's "used" includes the reserve.
    try:
        info = nvml.nvmlDeviceGetMemoryInfo(handle, version=nvml.nvmlMemory_v2)
    except nvml.NVMLError:
        info = _field(nvml, nvml.nvmlDeviceGetMemoryInfo, handle)
    return (None, None) if info is None else (info.used, info.total)


def _temperature(nvml, handle) -> int | None:
    # nvmlDeviceGetTemperature is deprecated for the versioned call, which older drivers lack
    try:
        return nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
    except nvml.NVMLError_FunctionNotFound:
        return _field(nvml, nvml.nvmlDeviceGetTemperatureV, handle, nvml.NVML_TEMPERATURE_GPU)
    except nvml.NVMLError:
        return None


def _read_mig_devices(nvml, handle) -> list[MigDevice]:
    slots = _field(nvml, nvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0
    devices = []
    for slot in range(slots):
        mig = _field(nvml, nvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, slot)
        if mig is None:
            continue  # an empty slot answers NotFound
        memory = _field(nvml, nvml.nvmlDeviceGetMemoryInfo, mig)
        devices.append(MigDevice(
            index=slot,
            name=_field(nvml, nvml.nvmlDeviceGetName, mig),
            uuid=_field(nvml, nvml.nvmlDeviceGetUUID, mig),
            memory_used=None if memory is None else memory.used,
            memory_total=None if memory is None else memory.total,
        ))
    return devices


def _running_processes(nvml, name: str, handle):
    """nvmlDeviceGet{Compute,Graphics}RunningProcesses: the _v3 call nvidia-ml-py makes raises
    NVMLLibraryMismatchError (not an NVMLError) on drivers before ~R510, which lack it: then _v2."""
    try:
        return _field(nvml, getattr(nvml, name), handle)
    except nvml.NVMLLibraryMismatchError:
        fallback = getattr(nvml, name + "_v2", None)
        if fallback is None:
            return None
        try:
            return _field(nvml, fallback, handle)
        except nvml.NVMLLibraryMismatchError:
            return None


def _read_processes(nvml, handle, own_pid) -> list[GpuProcess] | None:
    compute = _running_processes(nvml, "nvmlDeviceGetComputeRunningProcesses", handle)
    graphics = _running_processes(nvml, "nvmlDeviceGetGraphicsRunningProcesses", handle)
    if compute is None and graphics is None:
        return None
    found: dict[int, GpuProcess] = {}
    for kind, entries in (("compute", compute or []), ("graphics", graphics or [])):
        for entry in entries:
            seen = found.get(entry.pid)
            if seen is not None:
                seen.kind = "compute+graphics"
                continue
            local = _holds_gpu(entry.pid) is not False  # unknown (another user's process): trust it
            user, command = _describe_process(nvml, entry.pid, local)
            found[entry.pid] = GpuProcess(pid=entry.pid, user=user, gpu_memory=entry.usedGpuMemory,
                                          command=command, kind=kind,
                                          this_kernel=entry.pid == own_pid and _holds_gpu(own_pid) is True)
    return sorted(found.values(), key=lambda p: -(p.gpu_memory or 0))


GPU_DEVICE_PREFIX = "/dev/nvidia"  # the device files a process using an NVIDIA GPU holds open


def _holds_gpu(pid: int) -> bool | None:
    """Whether local process PID has an NVIDIA device open; None when its files cannot be read.

    NVML's pids are the driver's: in a container they can be the host's, and under MPS the MPS
    server's, so the local process with that number may be another one entirely. It is described,
    or called this kernel, only when it really holds a GPU."""
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


def _describe_process(nvml, pid, local: bool = True) -> tuple[str | None, str | None]:
    """User and command line of a pid; NVML's process name where the OS hides the process
    (another user's process, or a pid from the host's namespace inside a container) or where the
    local process of that number is not the one using the GPU (`local` False)."""
    import psutil

    user = command = None
    if not local:
        return None, _field(nvml, nvml.nvmlSystemGetProcessName, pid)
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            user = process.username()
            command = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        pass  # gone, hidden or foreign: keep what was read and ask NVML for the name
    return user, command or _field(nvml, nvml.nvmlSystemGetProcessName, pid)
