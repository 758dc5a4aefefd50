"""Images: arrays, files and pixel columns as the (N, C, H, W) tensors an image model takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import DataError
from ...locale import tr
from ..data.distinct import to_numbers
from ..data.reader import is_frame
from .inputs import TABLE_SUFFIXES, as_numpy, table_columns

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def image_array(x: np.ndarray, *, pixel_max: float = 255.0) -> np.ndarray:
    """(N, H, W) / (N, C, H, W) / (N, H, W, C) numbers -> (N, C, H, W) uint8 0..255 or float32 0..1."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim != 4:
        raise DataError(tr("Images must be (N, H, W) or (N, C, H, W), got shape {shape}").format(shape=tuple(x.shape)))
    elif x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):  # channels last (N, H, W, C)
        x = x.transpose(0, 3, 1, 2)
    if x.dtype.kind not in "iufb":
        raise DataError(tr("Images must hold numbers, got dtype {dtype}").format(dtype=x.dtype))
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if pixel_max != 255:  # a source with its own pixel range (digits: 0..16)
        if lo < 0 or hi > pixel_max:
            raise DataError(tr("Images must be in 0..{top:g} (or 0..1), got {low:g}..{high:g}").format(
                top=pixel_max, low=lo, high=hi))
        if x.dtype.kind == "f" and hi <= 1:
            return x.astype(np.float32)
        return (x / pixel_max).astype(np.float32)
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "iub":
        if lo < 0 or hi > 255:
            raise DataError(tr("Integer images must be in 0..255, got {low:g}..{high:g}").format(low=lo, high=hi))
        return x.astype(np.uint8)
    if not (0 <= lo and hi <= 1):
        raise DataError(tr("Float images must be in 0..1, got {low:g}..{high:g}: divide by 255 "
                           "(or pass uint8), and leave normalisation to %train").format(low=lo, high=hi))
    return x.astype(np.float32)


def resize_images(x: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """(N, C, H, W) -> (N, C, *size), bilinear with antialiasing (as Pillow resizes files); dtype kept."""
    import torch
    import torch.nn.functional as F

    height, width = int(size[0]), int(size[1])
    if x.shape[2:] == (height, width):
        return x
    out = []
    for start in range(0, len(x), 256):  # bounded memory for big photo sets
        block = torch.from_numpy(np.ascontiguousarray(x[start:start + 256])).float()
        block = F.interpolate(block, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
        out.append(block.round_().clamp_(0, 255).to(torch.uint8).numpy() if x.dtype == np.uint8
                   else block.clamp_(0, 1).numpy())
    return np.concatenate(out) if out else np.zeros((0, x.shape[1], height, width), dtype=x.dtype)


def match_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """Grey <-> RGB as Pillow converts (ITU-R 601 luma), alpha dropped."""
    have = x.shape[1]
    if have == channels:
        return x
    if have == 4:
        x, have = x[:, :3], 3
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return np.repeat(x, 3, axis=1)
    if have == 3 and channels == 1:
        grey = x[:, 0:1] * 0.299 + x[:, 1:2] * 0.587 + x[:, 2:3] * 0.114
        return np.round(grey).astype(np.uint8) if x.dtype == np.uint8 else grey.astype(np.float32)
    raise DataError(tr("Images have {have} channels; the model was trained on {channels}").format(
        have=have, channels=channels))


def image_files(folder: Path) -> list[Path]:
    """The images under `folder` (class subfolders included), sorted by path; hidden ones skipped."""
    return sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
                  and not any(p.startswith(".") for p in f.relative_to(folder).parts))


def images_from(info: dict[str, Any], x: Any) -> np.ndarray:
    """Raw image inputs -> (N, C, H, W) uint8 or float32 0..1 at the training size and channels."""
    from ..data.images import decode_files

    size = info["size"]
    paths = None
    if isinstance(x, (str, Path)):
        path = Path(x).expanduser()
        if path.is_dir():
            paths = image_files(path)
            if not paths:
                raise DataError(tr("No images in {folder}").format(folder=path))
        elif path.suffix.lower() in TABLE_SUFFIXES:
            return pixel_rows(info, x)
        elif path.is_file():
            paths = [path]
        else:
            raise DataError(tr("No such file or folder: {path}").format(path=x))
    elif isinstance(x, (list, tuple)) and x and all(isinstance(p, (str, Path)) for p in x):
        paths = [Path(p).expanduser() for p in x]
    elif is_frame(x):
        return pixel_rows(info, x)
    elif isinstance(x, (list, tuple)) and x and all(hasattr(p, "convert") and hasattr(p, "resize") for p in x):
        paths = list(x)  # PIL images
    if paths is not None:
        return decode_files(paths, info["mode"], tuple(size))
    a = as_numpy(x)
    if a.ndim == 2 and a.shape[1] == info["channels"] * size[0] * size[1]:  # flattened rows (pixel CSV, digits.data)
        a = a.reshape(len(a), info["channels"], size[0], size[1])
    elif a.ndim == 2 and tuple(a.shape) == tuple(size):  # one greyscale image
        a = a[None]
    a = image_array(a, pixel_max=info.get("pixel_max", 255.0))
    return resize_images(match_channels(a, info["channels"]), size)


def pixel_rows(info: dict[str, Any], x: Any) -> np.ndarray:
    names = info.get("pixel_columns")
    header, columns = table_columns(x)
    if not names:
        raise DataError(tr("this model was trained on images, not a table: pass arrays, image files or a folder"))
    by_name = dict(zip(header, columns))
    missing = [n for n in names if n not in by_name]
    if missing:
        raise DataError(tr("the table has no column {column!r} of the {count} pixel columns the model needs").format(
            column=missing[0], count=len(names)))
    pixels = np.stack([to_numbers(by_name[n], n) for n in names], axis=1)
    if np.isnan(pixels).any():
        raise DataError(tr("the pixel columns have empty values: every pixel needs a number in 0..255"))
    height, width = info["size"]
    return image_array(np.round(pixels).astype(np.int64).reshape(len(pixels), info["channels"], height, width))


def normalise_images(x, info: dict[str, Any]):
    """The training loop's per-channel normalisation (DeviceData): same formula, same float32 order."""
    import torch

    shape = (1, info["channels"], 1, 1)
    mean = torch.tensor(info["mean"], dtype=torch.float32, device=x.device).view(shape)
    std = torch.tensor(info["std"], dtype=torch.float32, device=x.device).view(shape)
    if x.dtype == torch.uint8:  # pixels in 0..255: the /255 folds into the statistics
        mean, std = mean * 255, std * 255
    return x.to(torch.float32).sub_(mean).div_(std)
