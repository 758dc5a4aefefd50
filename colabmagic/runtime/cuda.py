"""How CUDA sees the GPUs: which ones a CUDA_VISIBLE_DEVICES value shows, MIG slices as devices,
UUIDs compared across NVML and torch, and whether CUDA has started in this process.

CUDA reads CUDA_VISIBLE_DEVICES once, when it starts: from then on this process keeps its view, and
only processes it starts (torchrun workers) see a new value.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

from ..locale import tr

__all__ = ["VISIBLE_ENV", "cuda_devices", "cuda_user", "driver_loaded", "same_gpu", "set_visible", "visible_gpus",
           "visible_value"]

VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"
# Libraries that initialise CUDA on import or first use, other than torch (asked directly)
OTHER_CUDA_USERS = ("tensorflow", "jax", "cupy", "numba.cuda", "pycuda.autoinit")


def visible_gpus(visible: str | None, *, at_start: bool = True):
    """The CUDA devices as NVML knows them (a GPU, or each MIG slice of a GPU in MIG mode: CUDA
    runs on slices, not on their parent), narrowed to those the CUDA_VISIBLE_DEVICES value
    `visible` names (None: unset). `at_start`: the value this process started with (the words of
    the problem say so). Returns (devices, why there are none or None)."""
    from ..machine.gpus import read_gpus

    gpus, problem = read_gpus(processes=False)
    gpus = [device for gpu in gpus for device in cuda_devices(gpu)]
    if visible is None or problem is not None:
        return gpus, problem
    chosen = []
    for entry in visible.split(","):
        entry = entry.strip()
        if not entry:
            break
        if entry.lstrip("-").isdigit():
            match = [g for g in gpus if g.index == int(entry)][:1]
        else:  # a UUID (GPU-... or MIG-...) or a unique prefix of one, as CUDA accepts
            match = [g for g in gpus if g.uuid and g.uuid.lower().startswith(entry.lower())]
        if len(match) != 1 or match[0] in chosen:
            break  # CUDA stops at the first entry it cannot use
        chosen.append(match[0])
    if not chosen:
        if at_start:
            return [], tr("{variable}={value!r} hid every GPU when this kernel started").format(
                variable=VISIBLE_ENV, value=visible)
        return [], tr("{variable}={value!r} hid every GPU").format(variable=VISIBLE_ENV, value=visible)
    return chosen, None


def cuda_devices(gpu) -> list:
    """A GPU in MIG mode is its slices to CUDA (name and memory the slice's, uuid MIG-...)."""
    if not gpu.mig_mode or not gpu.mig_devices:
        return [gpu]
    return [replace(gpu, name=mig.name or f"{gpu.name} MIG {mig.index}", uuid=mig.uuid,
                    memory_total=mig.memory_total, memory_used=mig.memory_used, mig_devices=[])
            for mig in gpu.mig_devices]


def visible_value(view: tuple[int, ...], gpus) -> str:
    """The CUDA_VISIBLE_DEVICES value showing GPUs numbered `view`, by UUID: the order CUDA would
    otherwise number GPUs in (fastest first) can differ from NVML's."""
    return ",".join(gpus[i].uuid or str(gpus[i].index) for i in view)


def set_visible(value: str | None) -> None:
    if value is None:
        os.environ.pop(VISIBLE_ENV, None)
    else:
        os.environ[VISIBLE_ENV] = value


def same_gpu(nvml_uuid: str | None, torch_uuid: str | None) -> bool:
    """NVML says GPU-<uuid> or MIG-<uuid>, torch's device properties the bare uuid."""
    def bare(text: str) -> str:
        text = text.strip().lower()
        return text.split("-", 1)[1] if text.startswith(("gpu-", "mig-")) else text

    return bool(nvml_uuid and torch_uuid) and bare(nvml_uuid) == bare(torch_uuid)


def cuda_user() -> str | None:
    """Which library has (or may have) initialised CUDA in this process; None when none has.

    torch.cuda.is_initialized() is not enough: torch.cuda.is_available() (or an import that calls
    it) starts the CUDA driver, which reads CUDA_VISIBLE_DEVICES then, and is_initialized() stays
    False. The process itself tells: the driver library is mapped once it has been loaded."""
    torch = sys.modules.get("torch")
    if torch is not None:
        is_initialized = getattr(getattr(torch, "cuda", None), "is_initialized", None)
        if is_initialized is not None and is_initialized():
            return "torch"
    if driver_loaded():
        return tr("the CUDA driver (started by an earlier call such as torch.cuda.is_available())")
    for name in OTHER_CUDA_USERS:
        if name in sys.modules:
            return name
    return None


def driver_loaded() -> bool:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return any("/libcuda.so" in line for line in maps)
    except OSError:  # not Linux: only the libraries' own words are left
        return False
