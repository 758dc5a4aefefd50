"""The dataset's splits on the training device, moved there once (what the step loop slices batches from)."""

from __future__ import annotations

import torch

from .data.dataset import Dataset
from .data.images import image_stats
from .memory import images_stay_raw


class DeviceData:
    """The dataset's splits moved to the device once, images normalised with the training mean/std.

    Images become normalised float32 on the device up front when that copy fits comfortably (the
    common case: it costs nothing per step); otherwise they stay uint8 there and each batch is
    normalised as it is taken (`normalise`), at 1/4 of the memory.
    """

    def __init__(self, data: Dataset, device: torch.device, *, channels_last: bool):
        self.normalise = None
        image = data.kind == "image"
        fmt = torch.channels_last if image and channels_last else torch.contiguous_format
        splits = [(s, getattr(data, f"x_{s}"), getattr(data, f"y_{s}")) for s in ("train", "val", "test")]
        if image:
            mean, std = data.mean, data.std
            if mean is None or std is None:
                mean, std = image_stats(data.x_train.cpu().numpy())
            shape = (1, len(mean), 1, 1)
            mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(shape)
            std_t = torch.tensor(std, dtype=torch.float32, device=device).view(shape)
            raw = data.x_train.dtype == torch.uint8
            if raw:  # pixels in 0..255: fold the /255 into the statistics
                mean_t, std_t = mean_t * 255, std_t * 255
            upfront = not images_stay_raw(data, device)
            if not upfront:
                self.normalise = lambda xb: xb.float().sub_(mean_t).div_(std_t)
        for split, x, y in splits:
            if x is None:
                setattr(self, f"x_{split}", None)
                setattr(self, f"y_{split}", None)
                continue
            if image and upfront:
                # The raw dtype crosses to the device and is converted there: uint8 is a quarter of
                # float32's bytes over PCIe and in host memory. A new tensor either way: the caller's
                # is never modified in place, even on the CPU.
                moved = x if x.device == device else x.to(device)
                x = moved.to(dtype=torch.float32, memory_format=fmt, copy=moved is x).sub_(mean_t).div_(std_t)
            elif image:
                x = x.to(device=device, memory_format=fmt)
            else:
                x = x.to(device)
            setattr(self, f"x_{split}", x)
            setattr(self, f"y_{split}", y.to(device=device, dtype=torch.int64))
