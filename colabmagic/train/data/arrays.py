"""Arrays to Dataset: the builders every loader ends in, `from_arrays` and `.npz` files.

How arrays are read (`from_arrays`, `.npz`):
- x: numpy array, torch tensor or nested lists. 2-D (or 1-D) -> tabular (standardised with the
  training split's mean/std; integer matrices too, unless kind="text"); 3-D (N, H, W) -> one-channel
  images; 4-D (N, C, H, W) -> images, and (N, H, W, C) with C in 1/3/4 is transposed to that.
  Images must be uint8 / integers in 0..255 or floats in 0..1.
- y: class labels of any type; they become 0..K-1 in sorted order of their values (labels that
  already are 0..K-1 keep their values), and `classes` holds the original values as text.
- No test split given: 20 % of the examples, stratified, with a fixed seed, become the test split.
- `.npz`: keys x_train/y_train (+ optional x_test/y_test) or x/y, plus an optional `classes` array
  of class names; it is read with allow_pickle=False.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ...errors import ConfigError, DataError
from .dataset import KINDS, Dataset
from .split import TEST_FRACTION, TEST_SEED, check_fraction, stratified_indices


# --- builders every loader uses ---------------------------------------------------------------

def image_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                  y_test: np.ndarray | None, classes: Sequence[str], source: str) -> Dataset:
    """x arrays are (N, C, H, W), uint8 0..255 or float32 0..1; mean/std come from x_train."""
    mean, std = image_stats(x_train)
    return _dataset(name, "image", x_train, y_train, x_test, y_test, classes, source, mean=mean, std=std)


def tabular_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                    y_test: np.ndarray | None, classes: Sequence[str], source: str) -> Dataset:
    """x arrays are (N, F) numbers; every feature is standardised with x_train's mean and std."""
    x_train = np.asarray(x_train, dtype=np.float64)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # a constant feature stays 0 instead of becoming NaN

    def scale(x):
        return None if x is None else ((np.asarray(x, dtype=np.float64) - mean) / std).astype(np.float32)

    return _dataset(name, "tabular", scale(x_train), y_train, scale(x_test), y_test, classes, source)


def text_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                 y_test: np.ndarray | None, classes: Sequence[str], source: str, vocab_size: int) -> Dataset:
    """x arrays are (N, L) token ids, 0 = padding, 1 = unknown; vocab_size counts both."""
    cast = (lambda x: None if x is None else np.asarray(x, dtype=np.int64))
    return _dataset(name, "text", cast(x_train), y_train, cast(x_test), y_test, classes, source,
                    vocab_size=vocab_size)


def _dataset(name, kind, x_train, y_train, x_test, y_test, classes, source, **extra) -> Dataset:
    def tensor(a, dtype=None):
        if a is None:
            return None
        a = np.ascontiguousarray(a if dtype is None else np.asarray(a, dtype=dtype))
        return torch.from_numpy(a)

    classes = [str(c) for c in classes]
    return Dataset(name=name, kind=kind, x_train=tensor(x_train), y_train=tensor(y_train, np.int64),
                   x_test=tensor(x_test), y_test=tensor(y_test, np.int64), num_classes=len(classes),
                   classes=classes, source=source, **extra)


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


def encode_labels(y_train, y_test=None, names: Sequence[str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Labels of any type -> int64 0..K-1 (sorted by value) and the class names.

    With `names` (one per class index), integer labels 0..len(names)-1 keep their values.
    """
    parts = [_label_array(y, what) for y, what in ((y_train, "y_train"), (y_test, "y_test")) if y is not None]
    joined = np.concatenate(parts)
    if names is not None and joined.dtype.kind in "iu" and len(joined) and \
            joined.min() >= 0 and joined.max() < len(names):
        codes, classes = joined, [str(n) for n in names]
    else:
        values, codes = np.unique(joined, return_inverse=True)
        classes = [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()]
    codes = codes.astype(np.int64).reshape(-1)
    n_train = len(parts[0])
    return codes[:n_train], (codes[n_train:] if y_test is not None else None), classes


def _label_array(y, what: str) -> np.ndarray:
    y = as_numpy(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{what} must be one class label per example (1-D), got shape {tuple(y.shape)}")
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.round(y), y).all():
            example = next((v for v in y.tolist() if not (math.isfinite(v) and v == round(v))), None)
            raise DataError(f"{what} holds non-integer values (e.g. {example}): %train does classification, "
                            "so labels must be classes (integers or names)")
        return y.astype(np.int64)
    if y.dtype.kind == "O":
        return y.astype(str)
    return y


def as_numpy(a: Any) -> np.ndarray:
    """numpy array from a numpy array, torch tensor or (nested) list, without copying when possible."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


# --- from_arrays and .npz ---------------------------------------------------------------------

def build(x_train, y_train, x_test=None, y_test=None, *, name: str, source: str, kind: str | None = None,
          classes: Sequence[str] | None = None, test_split: float = TEST_FRACTION) -> Dataset:
    """A Dataset from in-memory arrays (see the module docstring for how they are read)."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    test_split = check_fraction("test_split", test_split)
    x_train = as_numpy(x_train)
    x_test = None if x_test is None else as_numpy(x_test)
    if (x_test is None) != (y_test is None):
        raise DataError("Give both x_test and y_test, or neither")
    y_train, y_test, classes = encode_labels(y_train, y_test, classes)
    for x, y, what in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x is not None and len(x) != len(y):
            raise DataError(f"x_{what} has {len(x)} examples but y_{what} has {len(y)} labels")
    if len(x_train) == 0:
        raise DataError(f"{name} has no examples")
    if x_test is None and test_split:
        kept, held = stratified_indices(y_train, test_split, TEST_SEED, what="test_split")
        x_train, x_test, y_train, y_test = x_train[kept], x_train[held], y_train[kept], y_train[held]

    kind = kind or _infer_kind(x_train)
    if kind == "image":
        x_train, x_test = _images(x_train), (None if x_test is None else _images(x_test))
        return image_dataset(name, x_train, y_train, x_test, y_test, classes, source)
    if kind == "text":
        for x in (x_train, x_test):
            if x is not None and (x.ndim != 2 or x.dtype.kind not in "iu" or (x.size and x.min() < 0)):
                raise DataError("Text arrays must be (N, L) non-negative integer token ids (0 = padding)")
        vocab = max(int(x.max()) for x in (x_train, x_test) if x is not None and x.size) + 1
        return text_dataset(name, x_train, y_train, x_test, y_test, classes, source, vocab_size=max(vocab, 2))
    x_train, x_test = _table(x_train), (None if x_test is None else _table(x_test))
    if x_test is not None and x_test.shape[1] != x_train.shape[1]:
        raise DataError(f"x_test has {x_test.shape[1]} features but x_train has {x_train.shape[1]}")
    return tabular_dataset(name, x_train, y_train, x_test, y_test, classes, source)


def load_npz(path: Path, *, kind: str | None = None, test_split: float = TEST_FRACTION) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as err:  # object arrays need pickle, which could run code: refuse
        raise DataError(f"Cannot read {path.name}: {err} (save plain numeric or string arrays)") from err
    except (OSError, EOFError) as err:
        raise DataError(f"Cannot read {path.name}: not a valid .npz file ({err})") from err
    if {"x_train", "y_train"} <= arrays.keys():
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    elif {"x", "y"} <= arrays.keys():
        x_train, y_train, x_test, y_test = arrays["x"], arrays["y"], None, None
    else:
        raise DataError(f"{path.name} needs arrays x_train and y_train (optionally x_test, y_test) or x and y; "
                        f"it has {', '.join(sorted(arrays)) or 'none'}")
    classes = arrays["classes"].tolist() if "classes" in arrays else None
    return build(x_train, y_train, x_test, y_test, name=path.stem, source=str(path), kind=kind,
                 classes=classes, test_split=test_split)


def _infer_kind(x: np.ndarray) -> str:
    if x.ndim in (3, 4):
        return "image"
    if x.ndim in (1, 2):
        return "tabular"
    raise DataError(f"Cannot tell what x of shape {tuple(x.shape)} holds: use (N, F) features, "
                    "(N, H, W) or (N, C, H, W) images, or (N, L) token ids with kind='text'")


def _images(x: np.ndarray) -> np.ndarray:
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim != 4:
        raise DataError(f"Images must be (N, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
    elif x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):  # channels last (N, H, W, C)
        x = x.transpose(0, 3, 1, 2)
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "iub":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise DataError(f"Integer images must be in 0..255, got {x.min()}..{x.max()}")
        return x.astype(np.uint8)
    if x.dtype.kind == "f":
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if not (0 <= lo and hi <= 1):
            raise DataError(f"Float images must be in 0..1, got {lo:g}..{hi:g}: divide by 255 "
                            "(or pass uint8), and leave normalisation to %train")
        return x.astype(np.float32)
    raise DataError(f"Images must hold numbers, got dtype {x.dtype}")


def _table(x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        x = x[:, None]
    if x.dtype.kind not in "iufb":
        raise DataError(f"Tabular arrays must hold numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise DataError("x holds NaN or infinite values: fill or drop them first")
    return x
