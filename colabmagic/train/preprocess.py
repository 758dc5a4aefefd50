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
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import DataError
from ..locale import tr
from .data.distinct import MISSING, distinct, per_value, to_numbers
from .data.reader import is_frame

TOKENIZER = "words-v1"
DATE_PARTS = ("year", "month", "dayofyear", "weekday")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TABLE_SUFFIXES = {".csv", ".tsv", ".txt"}

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
                   r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?",
                   re.IGNORECASE)


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
            from .data.images import image_stats

            mean, std = image_stats(dataset.x_train.numpy())
        return image_info(shape, mean, std)
    if kind == "text":
        return text_info(shape[0], dataset.vocab_size or 2)
    features = int(np.prod(shape))
    return table_info(np.zeros(features), np.ones(features))


# --- text -------------------------------------------------------------------------------------

def tokenize(text: str) -> list[str]:
    """words-v1: lower case, `<br />` removed, runs of letters and digits keeping an inner apostrophe."""
    return _WORD.findall(str(text).replace("<br />", " ").lower())


def build_vocab(token_lists: Iterable[list[str]], vocab_size: int) -> list[str]:
    """The `vocab_size - 2` most frequent words (ties alphabetical): ids 2, 3, ... in that order."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    return sorted(counts, key=lambda w: (-counts[w], w))[:max(vocab_size - 2, 0)]


def encode_texts(texts: Sequence[str], vocab: Sequence[str], max_len: int) -> np.ndarray:
    """(N, max_len) int64 ids: 0 pads the end, 1 is a word outside the vocabulary."""
    index = {w: i for i, w in enumerate(vocab, start=2)}
    x = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [index.get(t, 1) for t in tokenize(text)[:max_len]]
        x[row, :len(ids)] = ids
    return x


def is_texts(x: Any) -> bool:
    """A list/array of strings (one text per example)."""
    if isinstance(x, (str, bytes)):
        return False
    if isinstance(x, np.ndarray):
        return x.ndim == 1 and (x.dtype.kind in "US" or (x.dtype.kind == "O" and len(x) > 0
                                                         and all(isinstance(v, str) for v in x[:100])))
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(isinstance(v, str) for v in x)
    return _is_series(x) and x.dtype.kind == "O"


# --- tables -----------------------------------------------------------------------------------

def parse_date(value: str) -> datetime | None:
    match = _DATE.fullmatch(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def date_parts(values: Sequence[str] | np.ndarray, parts: Sequence[str]) -> np.ndarray:
    """(N, len(parts)) float64: year, month, day of year, weekday (0 = Monday), hour; NaN where missing."""
    def numbers(text: str) -> list[float]:
        when = parse_date(text) if text.strip().lower() not in MISSING else None
        if when is None:
            return [np.nan] * len(parts)
        known = {"year": when.year, "month": when.month, "dayofyear": when.timetuple().tm_yday,
                 "weekday": when.weekday(), "hour": when.hour + when.minute / 60 + when.second / 3600}
        return [known[p] for p in parts]

    return per_value(values, numbers, np.float64).reshape(-1, len(parts))


def date_column(values: np.ndarray) -> dict[str, Any] | None:
    """A date column's spec when every value that is not missing is a date (and one is); else None."""
    _, texts = distinct(values)
    parsed = []
    for text in texts:
        if text.strip().lower() in MISSING:
            continue
        when = parse_date(text)
        if when is None:
            return None
        parsed.append(when)
    if not parsed:
        return None
    parts = list(DATE_PARTS) + (["hour"] if any((p.hour, p.minute, p.second) != (0, 0, 0) for p in parsed) else [])
    return {"type": "date", "parts": parts}


def encode_columns(columns: list[dict[str, Any]], values: dict[str, np.ndarray]) -> np.ndarray:
    """Raw table columns (by name) -> (N, F) float64 features, as the column specs say."""
    blocks = [encode_column(spec, _named(columns, values, spec["name"])) for spec in columns]
    return np.hstack(blocks) if blocks else np.zeros((0, 0))


def encode_column(spec: dict[str, Any], col: np.ndarray) -> np.ndarray:
    """One raw column -> its (N, width(spec)) float64 features, as its spec says."""
    features = list(feature_columns(spec, col))
    return np.stack(features, axis=1) if features else np.zeros((len(col), 0))


def feature_columns(spec: dict[str, Any], col: np.ndarray) -> Iterator[np.ndarray]:
    """One raw column's features, one float64 column at a time (a 50-value category of a million
    rows is then never a 400 MB block)."""
    name = spec["name"]
    if spec["type"] == "number":
        numbers = to_numbers(col, name)
        gaps = np.isnan(numbers)
        yield np.where(gaps, spec["fill"], numbers) if gaps.any() else numbers
    elif spec["type"] == "category":
        where = {value: j for j, value in enumerate(spec["values"])}
        index = per_value(col, lambda text: where.get(text.strip(), -1), np.int64)
        for j in range(len(spec["values"])):
            yield (index == j).astype(np.float64)  # a value training never saw: all zeros
    elif spec["type"] == "date":
        parts = date_parts(col, spec["parts"])
        for j, fill in enumerate(spec["fill"]):
            yield np.where(np.isnan(parts[:, j]), float(fill), parts[:, j])
    else:
        raise DataError(tr("unknown column type {kind!r} in the saved preprocessing").format(kind=spec["type"]))


def width(spec: dict[str, Any]) -> int:
    """How many features a column spec encodes to."""
    sizes = {"number": 1, "category": len(spec.get("values", ())), "date": len(spec.get("parts", ()))}
    return sizes.get(spec["type"], 0)


def _named(columns: list[dict[str, Any]], values: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in values:
        raise DataError(tr("the input has no column {name!r}, which the model was trained on (it needs {columns})").format(
            name=name, columns=_some([c["name"] for c in columns])))
    return values[name]


def _some(names: list[str], n: int = 8) -> str:
    if len(names) <= n:
        return ", ".join(names)
    return tr("{names}, ... ({n} in all)").format(names=", ".join(names[:n]), n=len(names))


def _is_series(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "dtype") and not hasattr(x, "columns")


def _table_columns(x: Any) -> tuple[list[str], list[np.ndarray]] | None:
    """(header, columns) for a CSV path, a DataFrame, a dict of columns, one row as a dict of scalars
    (`df.iloc[0].to_dict()`) or a list of row dicts."""
    from .data.reader import frame_columns, read_table

    if isinstance(x, (str, Path)) and Path(x).suffix.lower() in TABLE_SUFFIXES:
        return read_table(Path(x).expanduser())
    if is_frame(x):
        return frame_columns(x)
    if isinstance(x, dict) and x and all(np.ndim(v) == 0 for v in x.values()):
        x = [x]  # one row: its values are scalars (a string is one too), not columns
    if isinstance(x, dict):
        return [str(k) for k in x], [np.asarray(v, dtype=object) if not _numeric(v) else np.asarray(v)
                                     for v in x.values()]
    if isinstance(x, (list, tuple)) and x and all(isinstance(r, dict) for r in x):
        header = list(dict.fromkeys(k for row in x for k in row))
        return [str(h) for h in header], [np.array([row.get(h) for row in x], dtype=object) for h in header]
    return None


def _numeric(v: Any) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "iufb"


# --- images -----------------------------------------------------------------------------------

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
            raise DataError(tr("Images must be in 0..{top:g} (or 0..1), got {lo:g}..{hi:g}").format(top=pixel_max, lo=lo, hi=hi))
        if x.dtype.kind == "f" and hi <= 1:
            return x.astype(np.float32)
        return (x / pixel_max).astype(np.float32)
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "iub":
        if lo < 0 or hi > 255:
            raise DataError(tr("Integer images must be in 0..255, got {lo:g}..{hi:g}").format(lo=lo, hi=hi))
        return x.astype(np.uint8)
    if not (0 <= lo and hi <= 1):
        raise DataError(tr("Float images must be in 0..1, got {lo:g}..{hi:g}: divide by 255 (or pass uint8), and leave "
                           "normalisation to %train").format(lo=lo, hi=hi))
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
    raise DataError(tr("Images have {have} channels; the model was trained on {channels}").format(have=have, channels=channels))


def image_files(folder: Path) -> list[Path]:
    """The images under `folder` (class subfolders included), sorted by path; hidden ones skipped."""
    return sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
                  and not any(p.startswith(".") for p in f.relative_to(folder).parts))


def _images_from(info: dict[str, Any], x: Any) -> np.ndarray:
    """Raw image inputs -> (N, C, H, W) uint8 or float32 0..1 at the training size and channels."""
    from .data.images import decode_files

    size = info["size"]
    paths = None
    if isinstance(x, (str, Path)):
        path = Path(x).expanduser()
        if path.is_dir():
            paths = image_files(path)
            if not paths:
                raise DataError(tr("No images in {path}").format(path=path))
        elif path.suffix.lower() in TABLE_SUFFIXES:
            return _pixel_rows(info, x)
        elif path.is_file():
            paths = [path]
        else:
            raise DataError(tr("No such file or folder: {path}").format(path=x))
    elif isinstance(x, (list, tuple)) and x and all(isinstance(p, (str, Path)) for p in x):
        paths = [Path(p).expanduser() for p in x]
    elif is_frame(x):
        return _pixel_rows(info, x)
    elif isinstance(x, (list, tuple)) and x and all(hasattr(p, "convert") and hasattr(p, "resize") for p in x):
        paths = list(x)  # PIL images
    if paths is not None:
        return decode_files(paths, info["mode"], tuple(size))
    a = _as_numpy(x)
    if a.ndim == 2 and a.shape[1] == info["channels"] * size[0] * size[1]:  # flattened rows (pixel CSV, digits.data)
        a = a.reshape(len(a), info["channels"], size[0], size[1])
    elif a.ndim == 2 and tuple(a.shape) == tuple(size):  # one greyscale image
        a = a[None]
    a = image_array(a, pixel_max=info.get("pixel_max", 255.0))
    return resize_images(match_channels(a, info["channels"]), size)


def _pixel_rows(info: dict[str, Any], x: Any) -> np.ndarray:
    names = info.get("pixel_columns")
    header, columns = _table_columns(x)
    if not names:
        raise DataError(tr("this model was trained on images, not a table: pass arrays, image files or a folder"))
    by_name = dict(zip(header, columns))
    missing = [n for n in names if n not in by_name]
    if missing:
        raise DataError(tr("the table has no column {name!r} of the {n} pixel columns the model needs").format(
            name=missing[0], n=len(names)))
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


# --- preparing raw inputs ---------------------------------------------------------------------

def prepare(info: dict[str, Any] | None, x: Any):
    """Raw inputs in the training data's form -> the CPU tensor the model takes (see the module docstring)."""
    import torch

    if info is None:  # a Dataset built by hand: the inputs already are what the model takes
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(_as_numpy(x))
        return t.float() if t.is_floating_point() else t.long()
    kind = info["kind"]
    if kind == "image":
        return normalise_images(torch.from_numpy(np.ascontiguousarray(_images_from(info, x))), info)
    if kind == "text":
        return torch.from_numpy(_texts_from(info, x))
    return torch.from_numpy(_table_from(info, x))


def _texts_from(info: dict[str, Any], x: Any) -> np.ndarray:
    max_len, vocab = info["max_len"], info.get("vocab")
    if vocab is None:  # trained on token ids
        ids = _as_numpy(x)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise DataError(tr("this model was trained on token ids: pass an (N, L) integer array"))
        out = np.zeros((len(ids), max_len), dtype=np.int64)
        out[:, :min(max_len, ids.shape[1])] = ids[:, :max_len]
        out[out >= info["vocab_size"]] = 1
        out[out < 0] = 1
        return out
    if isinstance(x, str) and not (Path(x).suffix.lower() in TABLE_SUFFIXES and Path(x).expanduser().is_file()):
        texts: Sequence[str] = [x]
    elif is_texts(x):
        texts = [str(v) for v in (x.tolist() if hasattr(x, "tolist") else x)]
    else:
        table = _table_columns(x)
        column = info.get("column")
        if table is None or column is None:
            raise DataError(tr("this model reads texts: pass a list of strings, or a table with a {column!r} column").format(
                column=column) if column else tr("this model reads texts: pass a list of strings"))
        header, columns = table
        if column not in header:
            raise DataError(tr("the table has no column {column!r}, the text the model was trained on (columns: "
                               "{columns})").format(column=column, columns=_some(header)))
        texts = ["" if str(v).strip().lower() in MISSING else str(v) for v in columns[header.index(column)].tolist()]
    return encode_texts(texts, vocab, max_len)


def _table_from(info: dict[str, Any], x: Any) -> np.ndarray:
    columns, features = info.get("columns"), info["features"]
    table = _table_columns(x)
    if columns is not None and table is not None:
        header, values = table
        matrix = encode_columns(columns, dict(zip(header, values)))
    else:
        a = _as_numpy(x.to_numpy() if is_frame(x) else x)
        if a.ndim == 1:
            a = a[None] if features > 1 else a[:, None]
        if columns is not None and a.ndim == 2 and a.shape[1] == len(columns):  # raw columns in training order
            matrix = encode_columns(columns, {c["name"]: a[:, i] for i, c in enumerate(columns)})
        else:
            a = a.reshape(len(a), -1)
            if a.dtype.kind not in "iufb":
                raise DataError(tr("Tabular inputs must hold numbers, got dtype {dtype}").format(dtype=a.dtype))
            if a.shape[1] != features:
                raise DataError(tr("the inputs have {have} features; the model was trained on {features}").format(
                    have=a.shape[1], features=features))
            matrix = a.astype(np.float64)
            if not np.isfinite(matrix).all():
                raise DataError(tr("the inputs hold NaN or infinite values: fill or drop them first"))
    mean, std = info["mean"].numpy(), info["std"].numpy()
    return ((matrix - mean) / std).astype(np.float32)


def _as_numpy(a: Any) -> np.ndarray:
    import torch

    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)
