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


def test_auto_device_and_precision_pick_the_gpu(workdir):
    device = resolve_device("auto")
    assert device.type == "cuda"
    expected = torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float16
    assert autocast_dtype("auto", device) is expected


def test_cnn_on_digits_on_the_gpu_reaches_the_target(workdir):
    result = train("cnn", "digits")
    assert result.device.startswith("cuda")
    assert result.precision in ("bf16", "fp16")
    assert result.metrics["test_accuracy"] >= 0.98  # mixed precision: not bit-equal to the CPU run
    assert next(result.model.parameters()).is_cuda
    assert 0 < result.peak_memory_bytes < torch.cuda.get_device_properties(0).total_memory


def test_resnet9_with_augmentation_runs_channels_last(workdir):
    g = torch.Generator().manual_seed(0)
    from colabmagic.train.data.dataset import Dataset

    x = torch.randint(0, 256, (2048, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (2048,), generator=g)
    data = Dataset(name="cifar-shaped", kind="image", x_train=x, y_train=y, x_test=x[:512], y_test=y[:512],
                   num_classes=10)
    result = train("resnet9", data, epochs=2)
    assert result.model.layers[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.isfinite(torch.tensor(v)) for v in result.metrics.values())


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_ddp_over_two_gpus_with_nccl(workdir):
    result = train("cnn", "digits", devices=2)
    assert result.extra["world_size"] == 2
    assert result.extra["rank_samples"][0] == result.extra["rank_samples"][1] > 0
    assert result.metrics["test_accuracy"] >= 0.98
