"""Which devices this kernel can use: the CPU, each NVIDIA GPU (NVML: never imports torch, never
creates a CUDA context) and Apple's MPS; `discover()` is what %runtime shows."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from importlib.util import find_spec

from .. import units
from ..locale import tr
from .cuda import VISIBLE_ENV, visible_gpus
from .specs import is_selected, parse_spec
from .state import current

__all__ = ["Device", "Runtime", "devices", "discover", "gpus_for_new_processes", "mps_available"]


@dataclass
class Device:
    """One device this kernel can use. `details` holds JSON-safe extras (cores, UUID, capability)."""

    spec: str  # "cpu", "cuda:0", "mps": what select() and %train --device take
    kind: str  # "cpu", "cuda" or "mps"
    name: str
    memory_total_bytes: int | None  # RAM for the CPU, device memory for a GPU; None if unknown
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Runtime:
    """What `%runtime` shows: the devices, the selection, and why there is no GPU (if so)."""

    devices: list[Device]
    selected: str
    gpu_problem: str | None  # why no NVIDIA GPU is listed; None when NVML answered
    cuda_initialized: bool  # hiding GPUs now needs a kernel restart
    visible_devices: str | None  # CUDA_VISIBLE_DEVICES now (None: unset)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        lines = [tr("runtime: {spec} selected (CUDA already initialised in this kernel)").format(spec=self.selected)
                 if self.cuda_initialized else tr("runtime: {spec} selected").format(spec=self.selected)]
        for d in self.devices:
            mark = "*" if is_selected(d.spec, self.selected) else " "
            lines.append(f" {mark} {d.spec:<8} {d.name}{_memory_text(d)}{_detail_text(d)}")
        if self.gpu_problem:
            lines.append("   " + tr("no NVIDIA GPU: {problem}").format(problem=self.gpu_problem))
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def best(self) -> str:
        """What `auto` picks here now: the first GPU, else MPS, else the CPU."""
        kinds = [d.kind for d in self.devices]
        return "cuda:0" if "cuda" in kinds else ("mps" if "mps" in kinds else "cpu")

    def named(self, spec) -> list[Device]:
        """The devices `spec` names (`auto`: the one it picks now)."""
        wanted = parse_spec(spec)
        if wanted.kind == "auto":
            wanted = parse_spec(self.best())
        return [d for d in self.devices if is_selected(d.spec, wanted)]

    def choices(self) -> list[tuple[str, str]]:
        """(label, spec) to offer: auto, each device, and all GPUs together when there are several."""
        out = [(tr("auto: the best device here"), "auto")]
        for d in self.devices:
            hidden = tr(" (hidden)") if d.details.get("hidden") else ""
            out.append((f"{d.spec}: {d.name}{_memory_text(d)}{hidden}", d.spec))
        gpus = [d for d in self.devices if d.kind == "cuda"]
        if len(gpus) > 1:
            out.append((tr("all {n} GPUs (for --devices {n})").format(n=len(gpus)),
                        "gpu:" + ",".join(d.spec[5:] for d in gpus)))
        return out


def devices() -> list[Device]:
    """The CPU, then each NVIDIA GPU this kernel could see at start (NVML: no CUDA context), then MPS."""
    return discover().devices


def discover() -> Runtime:
    from ..machine import cpu_static, memory_total

    state = current()
    model, logical, physical = cpu_static()
    found = [Device("cpu", "cpu", model, memory_total(),
                    {"logical_cores": logical, "physical_cores": physical})]
    gpus, problem = visible_gpus(state.visible_at_start)
    for number, gpu in enumerate(gpus):
        found.append(Device(f"cuda:{number}", "cuda", gpu.name or f"NVIDIA GPU {gpu.index}", gpu.memory_total, {
            "nvml_index": gpu.index, "uuid": gpu.uuid, "compute_capability": gpu.compute_capability,
            "driver_version": gpu.driver_version, "cuda_driver_version": gpu.cuda_driver_version,
            "memory_used_bytes": gpu.memory_used, "mig": gpu.mig_mode,
            "hidden": not state.torch_can_see(number),
        }))
    if mps_available():
        found.append(Device("mps", "mps", "Apple GPU (Metal, MPS)", None, {"unified_memory": True}))
    return Runtime(devices=found, selected=str(state.selected_spec()), gpu_problem=problem,
                   cuda_initialized=state.cuda_user() is not None,
                   visible_devices=os.environ.get(VISIBLE_ENV))


def gpus_for_new_processes() -> int | None:
    """How many CUDA devices a process started now (a torchrun worker) will see: CUDA_VISIBLE_DEVICES
    as %runtime left it, which this process's own CUDA may no longer follow. None without NVML."""
    from ..machine.nvml import open_library

    gpus, problem = visible_gpus(os.environ.get(VISIBLE_ENV), at_start=False)
    if problem is not None and open_library()[1] is not None:  # NVML itself could not tell
        return None
    return len(gpus)


def mps_available() -> bool:
    """Apple's MPS; only a Mac can have it, so torch is asked only there (no CUDA context on a Mac)."""
    if sys.platform != "darwin":
        return False
    torch = sys.modules.get("torch")
    if torch is None:
        if find_spec("torch") is None:
            return False
        import torch
    backend = getattr(getattr(torch, "backends", None), "mps", None)
    return bool(backend is not None and backend.is_available())


def _memory_text(d: Device) -> str:
    n = d.memory_total_bytes
    return "" if n is None else f", {units.size(n)}"


def _detail_text(d: Device) -> str:
    if d.kind == "cpu":
        return tr(", {cores} cores").format(cores=d.details.get("logical_cores") or "?")
    if d.kind == "cuda":
        cc = d.details.get("compute_capability")
        extra = tr(", compute {capability}").format(capability=cc) if cc else ""
        return extra + (tr(" (hidden)") if d.details.get("hidden") else "")
    return ""
