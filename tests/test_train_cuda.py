"""train() on a real CUDA GPU: bf16 autocast, channels_last, cuDNN, NCCL DDP. Skipped without one.

The CPU tests cover the loop's logic; these check the paths that exist only on a GPU machine.
"""

from __future__ import annotations

import pytest
import torch

from colabmagic.train import train
from colabmagic.train.device import autocast_dtype, resolve_device

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


# What auto must pick on the GPUs people have, by name: not the implementation's rule restated.
KNOWN = {"H100": torch.bfloat16, "H200": torch.bfloat16, "A100": torch.bfloat16, "L4": torch.bfloat16,
         "A10": torch.bfloat16, "RTX 30": torch.bfloat16, "RTX 40": torch.bfloat16, "T4": torch.float16,
         "V100": torch.float16, "P100": torch.float16, "P4": None, "P40": None, "GTX 10": None}


def test_auto_device_and_precision_pick_the_gpu(workdir):
    device = resolve_device("auto")
    assert device.type == "cuda"
    name = torch.cuda.get_device_name(device)
    known = [dtype for key, dtype in KNOWN.items() if key in name]
    if not known:
        pytest.skip(f"{name} is not in the table of known GPUs")
    assert autocast_dtype("auto", device) is known[-1]


def test_fp16_with_its_grad_scaler_trains_as_a_t4_would(workdir):
    """auto picks bf16 on an H100: the fp16 + GradScaler path a T4 user gets runs only when asked."""
    result = train("cnn", "digits", precision="fp16")
    assert result.precision == "fp16"
    assert result.metrics["test_accuracy"] >= 0.97


def test_the_step_loop_has_no_hidden_sync(workdir):
    """CUDA syncs in the loop are the planned ones (progress reads, epoch ends); a per-step one (an
    .item(), a boolean mask, a host-side check) would show as one warning per step."""
    import warnings

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = train("mlp", "digits", epochs=3, batch_size=32, refresh_per_second=1.0)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    steps = 3 * result.extra.get("steps_per_epoch", 45)
    assert len(syncs) < steps / 3, f"{len(syncs)} syncs in {steps} steps: one per step is a hidden sync"


def test_cnn_on_digits_on_the_gpu_reaches_the_target(workdir):
    result = train("cnn", "digits")
    assert result.device.startswith("cuda")
    assert result.precision in ("bf16", "fp16")
    assert result.metrics["test_accuracy"] >= 0.98  # mixed precision: not bit-equal to the CPU run
    assert next(result.model.parameters()).is_cuda
    assert 0 < result.peak_memory_bytes < torch.cuda.get_device_properties(0).total_memory


def test_resnet9_learns_channels_last(workdir):
    g = torch.Generator().manual_seed(0)
    from colabmagic.train.data.dataset import Dataset

    # learnable labels: the class is which of ten colour bands is brightest (random labels teach nothing)
    y = torch.randint(0, 10, (2048,), generator=g)
    x = torch.randint(0, 128, (2048, 3, 32, 32), dtype=torch.uint8, generator=g)
    for label in range(10):
        rows = slice(label * 3, label * 3 + 3)
        x[y == label, :, rows, :] = 255
    data = Dataset(name="bands", kind="image", x_train=x[:1536], y_train=y[:1536], x_test=x[1536:], y_test=y[1536:],
                   num_classes=10)
    result = train("resnet9", data, epochs=4, augment="")
    assert result.model.layers[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert result.metrics["test_accuracy"] >= 0.9


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_ddp_over_two_gpus_with_nccl(workdir):
    result = train("cnn", "digits", devices=2)
    assert result.extra["world_size"] == 2
    assert result.extra["rank_samples"][0] == result.extra["rank_samples"][1] > 0
    assert result.metrics["test_accuracy"] >= 0.98
