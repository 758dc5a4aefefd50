"""Which device a run uses, which precision it can afford there, and how much memory it took.

Device specs are resolved by colabmagic.runtime (`auto`: the %runtime selection, else the first
CUDA GPU, then Apple's MPS, then the CPU); resolve_device is kept here for the train code.
Precision `auto` is decided from the chosen GPU's own compute capability (not the current
device's: a machine can mix a T4 and an A100): bf16 autocast from 8.0 (Ampere) on, fp16 with a
GradScaler from 7.0 (a T4 has fp16 tensor cores and no bf16) and on 6.0 (P100), and fp32 elsewhere,
6.1 included (GTX 10xx, P4, P40 run fp16 at 1/64 of fp32's speed).
"""

from __future__ import annotations

import resource
import sys

import torch

from ..errors import ConfigError, DeviceError
from ..locale import tr


def resolve_device(spec: str | None) -> torch.device:
    """auto | cpu | cuda | cuda:N | gpu:0,1 | mps -> a torch.device that exists on this machine.

    colabmagic.runtime parses and resolves every device spec; `auto` there honours the device
    chosen with %runtime (runtime.select) before picking the first GPU, then MPS, then the CPU.
    """
    from ..runtime import torch_device

    return torch_device(spec)


def autocast_dtype(precision: str, device: torch.device,
                   capability: tuple[int, int] | None = None) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`, or None for plain fp32. `capability`: the
    CUDA device's (major, minor), read from that device when not given."""
    if precision == "fp32":
        return None
    if device.type == "cuda" and precision in ("auto", "bf16"):
        capability = capability or torch.cuda.get_device_capability(device)
    if precision == "auto":
        if device.type != "cuda":
            return None
        if capability >= (8, 0):
            return torch.bfloat16
        return torch.float16 if capability >= (7, 0) or capability == (6, 0) else None
    if precision == "bf16":
        if device.type == "cuda" and capability < (8, 0):
            raise DeviceError(tr("{device} (compute capability {major}.{minor}) has no native bf16: use precision "
                                 "fp16 (or auto)").format(device=device_name(device), major=capability[0],
                                                          minor=capability[1]))
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    raise ConfigError(tr("Unknown precision {precision!r}: use auto, bf16, fp16 or fp32").format(precision=precision))


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def device_name(device: torch.device) -> str:
    """"cuda:0", "cpu", "mps": what RunInfo and TrainResult show."""
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    return device.type


def synchronize(device: torch.device) -> None:
    """Wait for queued device work, so a timer reading after it means what it says."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_device_memory(device: torch.device) -> int | None:
    """Bytes of device memory at the peak since the last reset (CUDA), None where unknown."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return None


def peak_rss() -> int:
    """This process's peak resident memory in bytes, since it started.

    Linux: VmHWM, which exec resets; ru_maxrss would keep the peak of the process that forked us
    (a kernel started by a large server would report the server's size).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB, macOS bytes
