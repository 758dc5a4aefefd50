"""Non-NVIDIA devices that an already imported torch can use (NVIDIA GPUs come from NVML).

torch is consulted only when the user already imported it: asking torch about devices must never
cost an import or a CUDA context.
"""

from __future__ import annotations

import sys
from types import ModuleType
from dataclasses import dataclass

__all__ = ["Accelerator", "accelerators"]


@dataclass
class Accelerator:
    backend: str  # torch's device type: "mps", "xpu"
    index: int
    name: str


# (the torch module asked, its answer): availability never changes within a process. The module
# itself, not its id: a test's stand-in torch, once freed, could leave its id to the next one.
_seen: tuple[ModuleType, list[Accelerator]] | None = None


def accelerators() -> list[Accelerator]:
    """MPS / XPU devices, only when torch is already imported (never imports it)."""
    global _seen
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    if _seen is not None and _seen[0] is torch:
        return _seen[1]
    found = []
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    if mps is not None and mps.is_available():
        found.append(Accelerator("mps", 0, "Apple Metal (MPS)"))
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        found.extend(Accelerator("xpu", i, "Intel XPU") for i in range(xpu.device_count()))
    _seen = (torch, found)
    return found
