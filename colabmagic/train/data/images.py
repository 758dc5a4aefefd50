"""Decoding image files (or PIL images) into uint8 arrays at a given size, with Pillow.

Both training (data/folder.py) and prediction (preprocess/) decode here; image_stats gives the
per-channel statistics images are normalised with (a dataset's own, when it names none).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ...errors import DataError, require
from ...locale import tr


def decode_files(files, mode: str, size: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) uint8: each image file (or PIL image) decoded as `mode` ("L", "RGB"), resized to size."""
    Image = require("PIL.Image", "train")  # Pillow decodes the files

    return np.stack([_decode(Image, f, mode, size) for f in files])


def _decode(Image, path, mode: str, size: tuple[int, int]) -> np.ndarray:
    try:
        with (Image.open(path) if isinstance(path, (str, Path)) else _borrowed(path)) as im:
            if isinstance(path, (str, Path)) and im.format == "JPEG" and (im.size[0] > 2 * size[1] and im.size[1] > 2 * size[0]):
                im.draft(im.mode, (size[1], size[0]))  # decode a big JPEG at 1/2..1/8 scale: 10x faster
            im = im.convert(mode)
            if im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(tr("Cannot read image {path}: {error}").format(path=path, error=err)) from err
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


class _borrowed:
    """A PIL image the caller owns: used as a context manager without closing it."""

    def __init__(self, image):
        self.image = image

    def __enter__(self):
        return self.image

    def __exit__(self, *exc):
        return False


def image_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of (N, C, H, W) images in 0..1 units, in float64, in bounded memory."""
    means, stds = [], []
    for c in range(x.shape[1]):
        if x.dtype == np.uint8:  # a histogram is exact and needs no float copy (torch's is 7x numpy's speed)
            hist = torch.bincount(torch.from_numpy(x[:, c]).flatten(), minlength=256).numpy().astype(np.float64)
            values = np.arange(256) / 255.0
            n, total, squares = hist.sum(), hist @ values, hist @ values**2
        else:
            n = total = squares = 0.0
            for start in range(0, len(x), 4096):
                block = np.asarray(x[start:start + 4096, c], dtype=np.float64)
                n, total, squares = n + block.size, total + block.sum(), squares + (block**2).sum()
        mean = total / n
        std = math.sqrt(max(squares / n - mean**2, 0.0))
        means.append(float(mean))
        stds.append(float(std) if std > 0 else 1.0)  # a blank channel: normalising must not divide by 0
    return tuple(means), tuple(stds)
