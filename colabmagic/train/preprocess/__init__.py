"""What a loader did to raw inputs, as plain data, and the one implementation that does it again.

Every loader returns, in `Dataset.preprocessing`, a description made of dicts, lists, strings,
numbers and tensors only, so a saved model file loads with `torch.load(weights_only=True)` (no
pickled objects that could run code). `prepare(preprocessing, X)` turns raw X, in the form the
training data had, into the tensor the model takes; the training loaders call the same encoders
(`encode_columns`, `encode_texts`, `image_array`, `resize_images`), so both sides agree.

    image    {"kind": "image", "channels": C, "size": [H, W], "mean": [..C], "std": [..C],
              "pixel_max": 255 (integer pixels, and floats above 1, are divided by it),
              "mode": "L" | "RGB" (how image files are decoded), "pixel_columns": [names] | None}
             Normalisation is the training loop's (DeviceData): x/255 (or x in 0..1), minus mean,
             divided by std, per channel.
    tabular  {"kind": "tabular", "features": F, "mean": float64 (F,), "std": float64 (F,),
              "columns": None (arrays: F numbers per row) | [column, ...] (a table), "target": str | None}
             a column: {"name", "type": "number", "fill": mean}  {"name", "type": "category",
             "values": [...]} (one-hot; unseen values are all zeros)  {"name", "type": "date",
             "parts": [year, month, dayofyear, weekday(, hour)], "fill": [mean per part]}
    text     {"kind": "text", "max_len": L, "vocab_size": V, "vocab": [word of id 2, 3, ...] | None
              (None: the inputs are token ids), "tokenizer": "words-v1", "column": str | None}

The encoders, one module a kind of input: images.py, tables.py (numbers, categories, dates), text.py;
inputs.py reads the forms raw inputs come in (arrays, tables, rows).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .images import (IMAGE_SUFFIXES, image_array, image_files, images_from, match_channels, normalise_images,
                     resize_images)
from .inputs import TABLE_SUFFIXES, as_numpy
from .tables import (DATE_PARTS, date_column, date_parts, encode_column, encode_columns, feature_columns,
                     parse_date, table_from, width)
from .text import TOKENIZER, build_vocab, encode_texts, is_texts, texts_from, tokenize

__all__ = ["DATE_PARTS", "IMAGE_SUFFIXES", "TABLE_SUFFIXES", "TOKENIZER", "build_vocab", "date_column",
           "date_parts", "describe", "encode_column", "encode_columns", "encode_texts", "feature_columns",
           "image_array", "image_files", "image_info", "is_texts", "match_channels", "normalise_images",
           "parse_date", "prepare", "resize_images", "table_info", "text_info", "tokenize", "width"]


# --- descriptions (what loaders store) --------------------------------------------------------

def image_info(shape: Sequence[int], mean: Sequence[float], std: Sequence[float], *, pixel_max: float = 255.0,
               mode: str | None = None, pixel_columns: Sequence[str] | None = None) -> dict[str, Any]:
    channels, height, width = (int(s) for s in shape)
    return {"kind": "image", "channels": channels, "size": [height, width],
            "mean": [float(m) for m in mean], "std": [float(s) for s in std], "pixel_max": float(pixel_max),
            "mode": mode or ("L" if channels == 1 else "RGB"),
            "pixel_columns": list(pixel_columns) if pixel_columns is not None else None}


def table_info(mean: np.ndarray, std: np.ndarray, columns: list[dict[str, Any]] | None = None,
               target: str | None = None) -> dict[str, Any]:
    import torch

    return {"kind": "tabular", "features": int(len(mean)),
            "mean": torch.from_numpy(np.asarray(mean, dtype=np.float64).copy()),
            "std": torch.from_numpy(np.asarray(std, dtype=np.float64).copy()),
            "columns": columns, "target": target}


def text_info(max_len: int, vocab_size: int, vocab: Sequence[str] | None = None,
              column: str | None = None) -> dict[str, Any]:
    return {"kind": "text", "max_len": int(max_len), "vocab_size": int(vocab_size),
            "vocab": list(vocab) if vocab is not None else None, "tokenizer": TOKENIZER, "column": column}


def describe(dataset) -> dict[str, Any]:
    """A description for a Dataset built by hand (no loader filled one in): tensors as the model takes them."""
    kind, shape = dataset.kind, dataset.input_shape
    if kind == "image":
        mean, std = dataset.mean, dataset.std
        if mean is None or std is None:
            from ..data.images import image_stats

            mean, std = image_stats(dataset.x_train.numpy())
        return image_info(shape, mean, std)
    if kind == "text":
        return text_info(shape[0], dataset.vocab_size or 2)
    features = int(np.prod(shape))
    return table_info(np.zeros(features), np.ones(features))


# --- preparing raw inputs ---------------------------------------------------------------------

def prepare(info: dict[str, Any] | None, x: Any):
    """Raw inputs in the training data's form -> the CPU tensor the model takes (see the module docstring)."""
    import torch

    if info is None:  # a Dataset built by hand: the inputs already are what the model takes
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(as_numpy(x))
        return t.float() if t.is_floating_point() else t.long()
    kind = info["kind"]
    if kind == "image":
        return normalise_images(torch.from_numpy(np.ascontiguousarray(images_from(info, x))), info)
    if kind == "text":
        return torch.from_numpy(texts_from(info, x))
    return torch.from_numpy(table_from(info, x))
