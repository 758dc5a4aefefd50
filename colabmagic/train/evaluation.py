"""A finished epoch's metrics: the training sums kept on the device, and each held-out split's loss
and accuracy. Under DDP the ranks add their sums up, and split the held-out examples between them."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .device_data import DeviceData
from .parts import Parts


@torch.no_grad()
def evaluate(model: nn.Module, data: DeviceData, split: str, *, batch: int, sum_dtype: torch.dtype,
             autocast, rank: int = 0, world: int = 1,
             all_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[float, float]:
    """(mean loss, accuracy) on a split; loss without label smoothing.

    `model` is the plain model, never the DDP or compiled one: ranks evaluate different amounts and
    must not meet in forward(), and compiled, the last, smaller chunk would compile a second graph."""
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    n = len(y)
    chunk = math.ceil(n / world)
    lo, hi = min(rank * chunk, n), min((rank + 1) * chunk, n)
    size = max(2 * batch, 512)  # no activations kept for backward: larger batches fit
    sums = torch.zeros(2, dtype=sum_dtype, device=y.device)
    model.eval()
    with autocast:
        for start in range(lo, hi, size):
            xb, yb = x[start:min(start + size, hi)], y[start:min(start + size, hi)]
            if data.normalise is not None:
                xb = data.normalise(xb)
            out = model(xb)
            sums[0] += F.cross_entropy(out.float(), yb, reduction="sum")
            sums[1] += (out.argmax(1) == yb).sum()
    model.train()
    if all_reduce is not None:
        all_reduce(sums)
    loss, right = sums.tolist()  # sync point
    return loss / n, right / n


def epoch_sums(parts: Parts, all_reduce=None) -> tuple[float, float, int]:
    """(loss sum, correct, seen) of the epoch that just ended, all ranks together."""
    position, sum_dtype = parts.position, parts.sum_dtype
    sums = torch.stack([position.loss_sum, position.correct.to(sum_dtype),
                        torch.tensor(float(position.seen), dtype=sum_dtype, device=position.loss_sum.device)])
    if all_reduce is not None:
        all_reduce(sums)
    loss_sum, correct, seen = sums.tolist()  # sync point, once per epoch
    return loss_sum, correct, int(seen)


def held_out(parts: Parts, *, autocast, rank: int = 0, world: int = 1, all_reduce=None) -> dict[str, float]:
    """val_ and test_ loss and accuracy, for the splits there are."""
    metrics = {}
    for split in ("val", "test"):
        if getattr(parts.data, f"x_{split}") is not None:
            metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = evaluate(
                parts.model, parts.data, split, batch=parts.batch, sum_dtype=parts.sum_dtype, autocast=autocast,
                rank=rank, world=world, all_reduce=all_reduce)
    return metrics
