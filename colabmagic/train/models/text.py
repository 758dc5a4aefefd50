"""What the text templates share: pooling token features over the real tokens (id 0 is padding)."""

from __future__ import annotations

import torch


def masked_mean_max(features: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """(N, L, D) features of (N, L) token ids -> (N, 2D): mean and max over the non-padding tokens."""
    mask = (tokens != 0).unsqueeze(-1)
    count = mask.sum(1).clamp_min(1)  # an empty text pools to zeros, not NaN
    mean = (features * mask).sum(1) / count
    floor = torch.finfo(features.dtype).min
    peak = features.masked_fill(~mask, floor).amax(1)
    peak = torch.where(mask.any(1), peak, torch.zeros_like(peak))
    return torch.cat([mean, peak], dim=1)
