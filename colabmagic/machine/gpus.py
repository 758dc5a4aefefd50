"""NVIDIA GPUs as NVML sees them: one GpuInfo per GPU, its MIG slices and (optionally) its processes.

The fields that cannot change while the driver is loaded (name, UUID, compute capability) are
read once per NVML start; the rest at every reading. Every field is read on its own: a field the
GPU does not support, or any other NVML error, leaves that field None ("N/A" on screen) instead of
failing the whole reading.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .gpu_processes import GpuProcess, read_processes
from .nvml import Library, open_library

__all__ = ["GpuInfo", "MigDevice", "read_gpus"]


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


def read_gpus(processes: bool = True) -> tuple[list[GpuInfo], str | None]:
    """Every GPU NVML sees, or ([], why none is visible)."""
    library, problem = open_library()
    if library is None:
        return [], problem
    own_pid = os.getpid()
    return [_read_gpu(library, index, handle, processes, own_pid)
            for index, handle in enumerate(library.handles)], None


def _static(library: Library, index: int, handle) -> dict:
    known = library.static.get(index)
    if known is None:
        nvml, query = library.pynvml, library.query
        capability = query(nvml.nvmlDeviceGetCudaComputeCapability, handle)
        known = library.static[index] = {
            "index": index,
            "name": query(nvml.nvmlDeviceGetName, handle),
            "uuid": query(nvml.nvmlDeviceGetUUID, handle),
            "driver_version": library.driver_version,
            "cuda_driver_version": library.cuda_driver_version,
            "compute_capability": f"{capability[0]}.{capability[1]}" if capability else None,
        }
    return known


def _read_gpu(library: Library, index: int, handle, processes: bool, own_pid: int) -> GpuInfo:
    nvml, query = library.pynvml, library.query
    used, total = _memory(library, handle)
    rates = query(nvml.nvmlDeviceGetUtilizationRates, handle)
    power = query(nvml.nvmlDeviceGetPowerUsage, handle)
    limit = query(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    persistence = query(nvml.nvmlDeviceGetPersistenceMode, handle)
    mig = query(nvml.nvmlDeviceGetMigMode, handle)
    mig_on = None if mig is None else mig[0] == nvml.NVML_DEVICE_MIG_ENABLE
    return GpuInfo(
        **_static(library, index, handle),
        memory_used=used,
        memory_total=total,
        gpu_utilization=None if rates is None else rates.gpu,
        memory_utilization=None if rates is None else rates.memory,
        temperature=_temperature(library, handle),
        power_draw=None if power is None else power / 1000,  # NVML reports milliwatts
        power_limit=None if limit is None else limit / 1000,
        sm_clock=query(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
        pcie_generation=query(nvml.nvmlDeviceGetCurrPcieLinkGeneration, handle),
        pcie_width=query(nvml.nvmlDeviceGetCurrPcieLinkWidth, handle),
        persistence_mode=None if persistence is None else persistence == nvml.NVML_FEATURE_ENABLED,
        mig_mode=mig_on,
        mig_devices=_read_mig_devices(library, handle) if mig_on else [],
        processes=read_processes(library, handle, own_pid) if processes else None,
    )


def _memory(library: Library, handle) -> tuple[int | None, int | None]:
    # The v2 struct reports driver-reserved memory apart from "used", as nvidia-smi does since
    # driver 510; older drivers lack it and v1's "used" includes the reserve.
    nvml = library.pynvml
    try:
        info = nvml.nvmlDeviceGetMemoryInfo(handle, version=nvml.nvmlMemory_v2)
    except nvml.NVMLError:
        info = library.query(nvml.nvmlDeviceGetMemoryInfo, handle)
    return (None, None) if info is None else (info.used, info.total)


def _temperature(library: Library, handle) -> int | None:
    # nvmlDeviceGetTemperature is deprecated for the versioned call, which older drivers lack
    nvml = library.pynvml
    try:
        return nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
    except nvml.NVMLError_FunctionNotFound:
        return library.query(nvml.nvmlDeviceGetTemperatureV, handle, nvml.NVML_TEMPERATURE_GPU)
    except nvml.NVMLError:
        return None


def _read_mig_devices(library: Library, handle) -> list[MigDevice]:
    nvml, query = library.pynvml, library.query
    devices = []
    for slot in range(query(nvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0):
        mig = query(nvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, slot)
        if mig is None:
            continue  # an empty slot answers NotFound
        memory = query(nvml.nvmlDeviceGetMemoryInfo, mig)
        devices.append(MigDevice(
            index=slot,
            name=query(nvml.nvmlDeviceGetName, mig),
            uuid=query(nvml.nvmlDeviceGetUUID, mig),
            memory_used=None if memory is None else memory.used,
            memory_total=None if memory is None else memory.total,
        ))
    return devices
