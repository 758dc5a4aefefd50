"""A selection as a notebook stores it (Colab's keys: `accelerator`, `colab.gpuType`), and the
environment a kernel started for that notebook needs (`kernel_env`)."""

from __future__ import annotations

import re

from .cuda import VISIBLE_ENV, visible_gpus, visible_value
from .discovery import discover
from .specs import DeviceSpec, parse_spec
from .state import DEVICE_ENV, current

__all__ = ["from_notebook_metadata", "gpu_type", "kernel_env", "to_notebook_metadata"]


def to_notebook_metadata(spec) -> dict:
    """Colab's keys for a selection: {"accelerator": "GPU"|"None", "colab": {"gpuType": "T4"}}.

    gpuType is the GPU's short model name as Colab writes it ("T4", "A100", "H100"); "MPS" for
    Apple's GPU; "" for the CPU. `auto` is stored as what it means here now.
    """
    state = current()
    wanted = parse_spec(spec)
    if wanted.kind == "auto":
        wanted = state.selected_spec()
    if wanted.kind == "auto":
        wanted = parse_spec(discover().best())
    if wanted.kind == "cpu":
        return {"accelerator": "None", "colab": {"gpuType": ""}}
    if wanted.kind == "mps":
        return {"accelerator": "GPU", "colab": {"gpuType": "MPS"}}
    gpus, _ = visible_gpus(state.visible_at_start)
    number = (wanted.indices or (0,))[0]
    name = gpus[number].name if number < len(gpus) else None
    return {"accelerator": "GPU", "colab": {"gpuType": gpu_type(name) if name else "GPU"}}


def from_notebook_metadata(metadata: dict) -> str | None:
    """A notebook's metadata -> a spec, or None when it stores no runtime type.

    A gpuType matching a GPU here ("A100" in "NVIDIA A100-SXM4-40GB") picks that GPU; another
    gpuType (a notebook written on Colab's T4, opened on an H100 box) asks for any GPU: "cuda".
    Colab's TPU runtimes have no local equivalent: None.
    """
    if not isinstance(metadata, dict):
        return None
    accelerator = metadata.get("accelerator")
    colab = metadata.get("colab") if isinstance(metadata.get("colab"), dict) else {}
    gpu = str(colab.get("gpuType") or "")
    if accelerator is None and not gpu:
        return None
    if str(accelerator).upper() == "NONE" or (accelerator is None and not gpu):
        return "cpu"
    if str(accelerator).upper() != "GPU":
        return None
    if gpu.upper() == "MPS":
        return "mps"
    if gpu:
        gpus, _ = visible_gpus(current().visible_at_start)
        for number, g in enumerate(gpus):
            if g.name and gpu_type(g.name).upper() == gpu.upper():
                return f"cuda:{number}"
    return "cuda"


def gpu_type(name: str) -> str:
    """Colab's gpuType for an NVIDIA product name: "Tesla T4" -> "T4", "NVIDIA A100-SXM4-40GB" -> "A100"."""
    words = [w for w in re.split(r"[\s_]+", name) if w.upper() not in ("NVIDIA", "TESLA", "GEFORCE", "QUADRO")]
    if not words:
        return name.strip()
    return words[0].split("-")[0] if words[0][:1].isalpha() and any(c.isdigit() for c in words[0]) else " ".join(words)


def kernel_env(spec) -> dict[str, str]:
    """Environment for a kernel started with `spec` selected: it is applied before CUDA starts.

    COLABMAGIC_DEVICE always (the kernel's default device); CUDA_VISIBLE_DEVICES when the spec
    names particular GPUs ("" hides none: the key is left out).
    """
    wanted = parse_spec(spec)
    env = {DEVICE_ENV: str(wanted)}
    if wanted.kind == "cuda" and wanted.indices:
        gpus, _ = visible_gpus(current().visible_at_start)
        if all(i < len(gpus) for i in wanted.indices) and len(wanted.indices) < len(gpus):
            env[VISIBLE_ENV] = visible_value(wanted.indices, gpus)
            # that kernel sees only these GPUs, numbered from 0 again
            env[DEVICE_ENV] = str(DeviceSpec("cuda", tuple(range(len(wanted.indices)))))
    return env
