"""Batched image augmentation on the device: random horizontal flip and random translation.

Both become one `gather` per batch: every output pixel reads one input pixel, chosen by a per-sample
row/column table. Translation by (dy, dx) reflects at the borders (no black bars, and it works the
same on uint8 and float images). The loop reseeds the generator at every step from (seed, epoch,
step, rank), so a resumed run draws exactly what the uninterrupted run drew.
"""

from __future__ import annotations

import torch

from .config import parse_augment


class Augmentation:
    def __init__(self, spec: str, image_shape: tuple[int, ...], device: torch.device):
        items = dict(parse_augment(spec))
        _, height, width = image_shape
        self.flip = "flip" in items
        self.shift = 0
        if "crop" in items:  # crop with no N: 2 px on 32x32 images, scaled with the image size
            self.shift = items["crop"] or max(1, round(min(height, width) / 16))
        self.shape = (height, width)
        # tables[s] maps output index -> input index for shift s - self.shift, reflected at the borders
        self.rows = _shift_table(height, self.shift, device)
        self.cols = _shift_table(width, self.shift, device)
        self.device = device

    def __bool__(self) -> bool:
        return self.flip or self.shift > 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = x.shape[0]
        height, width = self.shape
        if self.shift:
            choices = 2 * self.shift + 1
            rows = self.rows[torch.randint(choices, (batch,), device=self.device, generator=generator)]
            cols = self.cols[torch.randint(choices, (batch,), device=self.device, generator=generator)]
        else:
            rows = self.rows[0].expand(batch, height)
            cols = self.cols[0].expand(batch, width)
        if self.flip:
            flipped = torch.randint(2, (batch, 1), device=self.device, generator=generator).bool()
            cols = torch.where(flipped, cols.flip(1), cols)
        return _gather_pixels(x, rows[:, :, None] * width + cols[:, None, :])


def _shift_table(size: int, shift: int, device: torch.device) -> torch.Tensor:
    """(2*shift+1, size) int64: row s reads input index i - (s - shift), reflected into 0..size-1."""
    offsets = torch.arange(-shift, shift + 1)[:, None]
    source = torch.arange(size)[None, :] - offsets
    period = 2 * (size - 1) if size > 1 else 1
    source = source.remainder(period)  # reflect: fold onto 0..size-1 (shifts may exceed the size)
    source = torch.where(source >= size, period - source, source)
    return source.to(device)


def _gather_pixels(x: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """out[b, c, i, j] = x[b, c, pixels[b, i, j] // W, pixels[b, i, j] % W], keeping x's memory format."""
    batch, channels, height, width = x.shape
    pixels = pixels.reshape(batch, height * width)
    if channels > 1 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        flat = x.permute(0, 2, 3, 1).reshape(batch, height * width, channels)  # a view: no copy
        out = flat.gather(1, pixels[:, :, None].expand(batch, height * width, channels))
        return out.view(batch, height, width, channels).permute(0, 3, 1, 2)
    flat = x.reshape(batch, channels, height * width)
    out = flat.gather(2, pixels[:, None, :].expand(batch, channels, height * width))
    return out.view(batch, channels, height, width)
