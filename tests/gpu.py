"""What the GPU tests share: whether CUDA is usable here, and what nvidia-smi says the GPUs are.

These tests run where a GPU is (the device machine) and skip, saying why, everywhere else.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


gpu = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(not cuda_available(), reason="needs a CUDA device")


def nvidia_smi_gpus() -> list[list[str]]:
    """[name, total memory in MiB] of each GPU as nvidia-smi lists them; skips the test without a driver."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        pytest.skip("no nvidia-smi: no NVIDIA driver on this machine")
    out = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"nvidia-smi sees no GPU: {out.stdout.strip() or out.stderr.strip()}")
    return [[cell.strip() for cell in line.split(",")] for line in out.stdout.strip().splitlines()]
