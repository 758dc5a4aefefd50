"""`make gpu-check` (benchmarks/gpu_check.py) runs everywhere: on a machine without an NVIDIA GPU
each part says so and the command succeeds; the parts themselves run on the GPU machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gpu import cuda_available

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_check  # noqa: E402


@pytest.mark.skipif(cuda_available(), reason="a GPU is here: make gpu-check runs the parts for real")
def test_without_a_gpu_every_part_says_so_and_the_check_succeeds():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = out.stdout.split("== gpu-check summary")[1].strip().splitlines()[1:]
    assert len(summary) == len(gpu_check.PARTS)
    for line, (name, _, _) in zip(summary, gpu_check.PARTS):
        assert line.split()[:2] == ["SKIPPED", name] and line.endswith("no NVIDIA GPU")


def test_the_parts_fit_eight_minutes():
    assert sum(limit for _, limit, _ in gpu_check.PARTS) <= 8 * 60 - 20  # start-up and the wheels' install


def test_a_part_that_fails_is_one_line_and_the_others_go_on(tmp_path):
    """A part's exception becomes its failed result (the run goes on), here load()'s on a CPU-only torch."""
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")])}
    result = gpu_check.run_child("load", 120, env, cwd=str(tmp_path))
    if cuda_available():
        assert result["status"] == "ok", result
    else:
        assert result["status"] == "failed" and "DeviceError" in result["summary"], result
        assert "\n" not in result["summary"]
