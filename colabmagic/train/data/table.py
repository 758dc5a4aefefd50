"""Your own CSV (or .tsv) file: one label column plus feature columns, one example per row.

- The label column is `target=NAME`, else the column called `label` (any case). Without either,
  DataError names the columns there are. Labels become classes sorted by value, names kept.
- Images as CSV: when every feature column is named pixel<N>, there are s*s of them and all values
  are whole numbers in 0..255 (Kaggle's digit-recognizer train.csv: label, pixel0..pixel783), the
  rows are read as 1 x s x s uint8 images.
- Otherwise the table is tabular:
  numeric columns: a missing value (empty, NA, NaN, null, ?) becomes the training split's mean;
  text columns with at most 50 distinct values in the training split are one-hot encoded (a value
  only the test split has encodes as all zeros); text columns with more (names, ids, free text) are
  rejected, naming them, so you can leave them out with drop=[...];
  then every feature is standardised with the training split's mean and std.
- 20 % of the rows, stratified, with a fixed seed, are held out as the test split (test_split=).
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from ...errors import DataError
from .arrays import encode_labels, image_dataset, tabular_dataset
from .dataset import Dataset
from .split import TEST_FRACTION, TEST_SEED, check_fraction, stratified_indices

MAX_CATEGORIES = 50  # text columns with more distinct values are rejected, not one-hot encoded
MISSING = {"", "na", "nan", "null", "none", "?", "n/a"}
_PIXEL = re.compile(r"pixel(\d+)", re.IGNORECASE)


def load_csv(path: Path, *, target: str | None = None, drop: Sequence[str] | str = (),
             test_split: float = TEST_FRACTION) -> Dataset:
    test_split = check_fraction("test_split", test_split)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header = _header(path, delimiter)
    drop = [d.strip() for d in drop.split(",")] if isinstance(drop, str) else list(drop)
    for name in drop:
        if name not in header:
            raise DataError(f"drop: {path.name} has no column {name!r} (columns: {_some(header)})")
    t = _target_index(path, header, target)
    columns = _read_columns(path, delimiter, header)
    labels = columns[t]
    empty = int(np.isnan(labels).sum()) if labels.dtype.kind == "f" else \
        sum(v.lower() in MISSING for v in labels)
    if empty:
        raise DataError(f"{path.name}: the label column {header[t]!r} is empty in {empty} rows: fill or drop them")
    y, _, classes = encode_labels(labels)
    features = [(name, col) for i, (name, col) in enumerate(zip(header, columns)) if i != t and name not in drop]
    if not features:
        raise DataError(f"{path.name} has no feature columns besides the label {header[t]!r}")

    if test_split:
        kept, held = stratified_indices(y, test_split, TEST_SEED, what="test_split")
    else:
        kept, held = np.arange(len(y)), None

    def splits(x):
        return x[kept], y[kept], (None if held is None else x[held]), (None if held is None else y[held])

    images = _pixel_images(features)
    if images is not None:
        return image_dataset(path.stem, *splits(images), classes, source=str(path))
    return tabular_dataset(path.stem, *splits(_encode_features(path, features, kept)), classes, source=str(path))


def _header(path: Path, delimiter: str) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f, delimiter=delimiter), None)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"Cannot read {path}: {err}") from err
    if not header:
        raise DataError(f"{path} is empty: a CSV needs a header row and one row per example")
    return [h.strip() for h in header]


def _target_index(path: Path, header: list[str], target: str | None) -> int:
    wanted = target if target is not None else "label"
    for candidates in ([i for i, h in enumerate(header) if h == wanted],
                       [i for i, h in enumerate(header) if h.lower() == wanted.lower()]):
        if candidates:
            return candidates[0]
    if target is None:
        raise DataError(f"{path.name} has no 'label' column: pass target=COLUMN (columns: {_some(header)})")
    raise DataError(f"{path.name} has no column {target!r} (columns: {_some(header)})")


def _some(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")


def _read_columns(path: Path, delimiter: str, header: list[str]) -> list[np.ndarray]:
    """One array per column: float64 (NaN where missing) if every value is a number, else str."""
    columns = None
    # All-numeric files (the big ones, like 42,000 x 785 pixels) parse fast in C; whole numbers
    # parse 8x faster than floats, and a float in the first row makes the integer try fail at once.
    for dtype in (np.int64, np.float64):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "empty input file" for a header-only CSV
                data = np.loadtxt(path, delimiter=delimiter, skiprows=1, dtype=dtype, ndmin=2,
                                  comments=None, encoding="utf-8-sig")
        except ValueError:
            continue
        if data.shape[1] == len(header) or not data.size:
            columns = list(data.astype(np.float64).T) if data.size else []  # views of one matrix
        break
    if columns is None:
        columns = _read_text_columns(path, delimiter, header)
    if not columns or not len(columns[0]):
        raise DataError(f"{path.name} has a header but no rows")
    return columns


def _read_text_columns(path: Path, delimiter: str, header: list[str]) -> list[np.ndarray]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader)
        rows = []
        for row in reader:
            if not row or all(not v.strip() for v in row):
                continue
            if len(row) != len(header):
                raise DataError(f"{path.name} line {reader.line_num} has {len(row)} fields but the header "
                                f"has {len(header)}")
            rows.append([v.strip() for v in row])
    return [_column([row[i] for row in rows]) for i in range(len(header))] if rows else []


def _column(values: list[str]) -> np.ndarray:
    numbers = np.empty(len(values))
    for i, v in enumerate(values):
        if v.lower() in MISSING:
            numbers[i] = np.nan
            continue
        try:
            numbers[i] = float(v)
        except ValueError:
            return np.array(values, dtype=object)
        if not math.isfinite(numbers[i]):
            numbers[i] = np.nan
    return numbers


def _pixel_images(features: list[tuple[str, np.ndarray]]) -> np.ndarray | None:
    """(N, 1, s, s) uint8 when the features are s*s pixel<N> columns of whole numbers in 0..255."""
    matches = [_PIXEL.fullmatch(name) for name, _ in features]
    side = math.isqrt(len(features))
    if not all(matches) or side * side != len(features) or any(c.dtype.kind != "f" for _, c in features):
        return None
    order = np.argsort([int(m.group(1)) for m in matches], kind="stable")
    pixels = np.stack([features[i][1] for i in order], axis=1)
    if np.isnan(pixels).any() or (pixels < 0).any() or (pixels > 255).any() or (pixels != np.round(pixels)).any():
        return None
    return pixels.astype(np.uint8).reshape(-1, 1, side, side)


def _encode_features(path: Path, features: list[tuple[str, np.ndarray]], train: np.ndarray) -> np.ndarray:
    blocks, too_many = [], []
    for name, col in features:
        if col.dtype.kind == "f":
            known = col[train][~np.isnan(col[train])]
            fill = known.mean() if known.size else 0.0
            blocks.append(np.where(np.isnan(col), fill, col)[:, None])
            continue
        categories = sorted(set(col[train].tolist()))
        if len(categories) > MAX_CATEGORIES:
            too_many.append(f"{name!r} ({len(categories)} values)")
            continue
        blocks.append((col[:, None] == np.array(categories, dtype=object)[None, :]).astype(np.float64))
    if too_many:
        names = ", ".join(too_many)
        raise DataError(f"{path.name}: text column{'s' if len(too_many) > 1 else ''} {names} "
                        f"{'have' if len(too_many) > 1 else 'has'} more than {MAX_CATEGORIES} distinct values "
                        f"to one-hot encode: leave {'them' if len(too_many) > 1 else 'it'} out with drop=[...] "
                        "or turn it into numbers yourself")
    return np.hstack(blocks)
