"""Your own table: a CSV (or .tsv) file, or a pandas DataFrame; one label column, one example per row.

- Reading a file: the encoding is UTF-8 (a BOM is skipped), else GBK/GB18030 (Excel's exports on a
  Chinese Windows), else Windows-1252; the delimiter is sniffed among `,` `;` tab `|` (the one that
  splits the first rows into the same number of fields). With `;`, tab or `|`, decimal commas (`1,5`)
  are numbers. pandas' C reader parses the file, under these rules (reader.py).
- The label column is `target=NAME`, else the column called `label` (any case). Without either,
  DataError names the columns there are. Labels become classes sorted by value; `classes` keeps
  the values (names, or numbers). A target with fewer than two rows per class warns.
- `drop="A,B"` leaves columns out. `text=COLUMN` trains a text model (lstm, transformer) on that
  column: words-v1 tokens, a vocabulary of the training rows' 20,000 most frequent words; the other
  columns are then not used.
- Images as CSV: when every feature column is named pixel<N>, there are s*s of them and all values
  are whole numbers in 0..255 (Kaggle's digit-recognizer train.csv: label, pixel0..pixel783), the
  rows are read as 1 x s x s uint8 images.
- Otherwise the table is tabular:
  numeric columns: a missing value (empty, NA, NaN, null, ?) becomes the training split's mean;
  date/time columns (2012/01/01, 2012-01-01, ISO 8601 date-times) become year, month, day of year,
  weekday (and hour when times are given), a missing one the training mean;
  text columns with at most 50 distinct values in the training split are one-hot encoded (a value
  only the test split has encodes as all zeros); text columns with more (names, ids, free text) are
  refused, naming them, so you can leave them out with drop= or read one as text with text=;
  then every feature is standardised with the training split's mean and std.
- 20 % of the rows, stratified, with a fixed seed, are held out as the test split (test_split=).
What was done is kept in `Dataset.preprocessing` (train/preprocess/), so `predict` takes raw rows.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import DataError, Message, Option
from ...locale import tr, trn
from .. import preprocess
from ..preprocess.inputs import some
from .arrays import encode_labels, image_dataset, tabular_dataset, text_arrays, text_dataset, warn_sparse_classes
from .dataset import Dataset
from .distinct import MISSING, distinct, missing, sorted_codes
from .reader import frame_columns, read_table
from .split import TEST_FRACTION, TEST_SEED, check_fraction, stratified_indices

MAX_CATEGORIES = 50  # text columns with more distinct values are refused, not one-hot encoded
_PIXEL = re.compile(r"pixel(\d+)", re.IGNORECASE)


def load_csv(path: Path, *, target: str | None = None, drop: Sequence[str] | str | None = None,
             text: str | None = None, test_split: float = TEST_FRACTION) -> Dataset:
    test_split = check_fraction("test_split", test_split)
    header, columns = read_table(path)
    return table_dataset(header, columns, target=target, drop=drop, text=text, test_split=test_split,
                         name=path.stem, source=str(path), what=path.name)


def frame_dataset(frame: Any, y: Any, *, drop: Any = None, text: str | None = None,
                  test_split: float = TEST_FRACTION, name: str, source: str) -> Dataset:
    """A pandas DataFrame read like a CSV file; `y` is its labels, or the name of its label column."""
    header, columns = frame_columns(frame)
    target = y if isinstance(y, str) else None
    return table_dataset(header, columns, labels=None if target else y, target=target, drop=drop, text=text,
                         test_split=test_split, name=name, source=source, what=tr("the DataFrame"))


# --- columns to a Dataset ---------------------------------------------------------------------

def table_dataset(header: list[str], columns: list[Any], *, labels: Any = None, target: str | None = None,
                  drop: Sequence[str] | str | None = None, text: str | None = None,
                  test_split: float = TEST_FRACTION, name: str, source: str, what: str) -> Dataset:
    """A Dataset from a table's columns; the label column is `target` (or `label`), or `labels` given."""
    drop = parse_drop(drop)
    for column in drop:
        if column not in header:
            raise DataError(Message.of(tr("{option}: {what} has no such column (columns: {columns})"),
                                       option=Option("drop", column), what=what, columns=some(header)))
    if labels is None:
        t = _target_index(what, header, target)
        label_name, labels = header[t], columns[t]
        empty = int(np.isnan(labels).sum()) if labels.dtype.kind == "f" else int(missing(labels).sum())
        if empty:
            raise DataError(tr("{what}: the label column {column!r} is empty in {rows} rows: fill or drop them").format(
                what=what, column=label_name, rows=empty))
        if label_name in drop:
            raise DataError(Message.of(tr("{dropped} names the label column: leave it out of {drop}"),
                                       dropped=Option("drop", label_name), drop=Option("drop")))
    else:
        t, label_name = None, None
        if len(labels) != len(columns[0]):
            raise DataError(tr("{what} has {rows} rows but y has {labels} labels").format(
                what=what, rows=len(columns[0]), labels=len(labels)))
    if label_name is not None and labels.dtype.kind != "f":  # a text label column: sorted once per distinct value
        y, classes = sorted_codes(labels)
    else:
        y, _, classes = encode_labels(labels)
    warn_sparse_classes(y, len(classes), tr("the target {column!r}").format(column=label_name) if label_name else "y")
    features = [(n, col) for i, (n, col) in enumerate(zip(header, columns)) if i != t and n not in drop]
    if not features:
        raise DataError(tr("{what} has no feature columns besides the label {column!r}").format(
            what=what, column=label_name))

    if test_split:
        kept, held = stratified_indices(y, test_split, TEST_SEED, what="test_split")
    else:
        kept, held = np.arange(len(y)), None

    def splits(x):
        return x[kept], y[kept], (None if held is None else x[held]), (None if held is None else y[held])

    if text is not None:
        return _text_column(features, text, kept, held, y, classes, name=name, source=source, what=what)
    images = _pixel_images(features)
    if images is not None:
        pixels, names = images
        return image_dataset(name, *splits(pixels), classes, source=source, pixel_columns=names)
    specs = describe_columns(what, features, kept)
    x_train, x_test, mean, std = standardised_features(specs, dict(features), kept, held)
    notes = tuple(tr("date column {column!r} read as {parts}").format(column=s["name"], parts=", ".join(s["parts"]))
                  for s in specs if s["type"] == "date")
    return tabular_dataset(name, x_train, y[kept], x_test, None if held is None else y[held], classes,
                           source=source, columns=specs, target=label_name, notes=notes, standardised=(mean, std))


def parse_drop(drop: Sequence[str] | str | None) -> list[str]:
    if drop is None:
        return []
    items = drop.split(",") if isinstance(drop, str) else list(drop)
    return [str(d).strip() for d in items if str(d).strip()]


def _text_column(features, text, kept, held, y, classes, *, name, source, what) -> Dataset:
    by_name = dict(features)
    if text not in by_name:
        raise DataError(Message.of(tr("{option}: {what} has no such feature column (columns: {columns})"),
                                   option=Option("text", text), what=what, columns=some(list(by_name))))
    values = ["" if str(v).lower() in MISSING else str(v) for v in by_name[text].tolist()]
    ids_train, ids_test, vocab, _ = text_arrays([values[i] for i in kept],
                                                None if held is None else [values[i] for i in held])
    others = [n for n in by_name if n != text]
    notes = (Message.of(tr("{text}: the other columns ({columns}) are not used"), text=Option("text", text),
                        columns=some(others, 4)),) if others else ()
    return text_dataset(name, ids_train, y[kept], ids_test, None if held is None else y[held], classes, source,
                        vocab_size=len(vocab) + 2, vocab=vocab, column=text, notes=notes)


def _target_index(what: str, header: list[str], target: str | None) -> int:
    wanted = target if target is not None else "label"
    for candidates in ([i for i, h in enumerate(header) if h == wanted],
                       [i for i, h in enumerate(header) if h.lower() == wanted.lower()]):
        if candidates:
            return candidates[0]
    if target is None:
        raise DataError(Message.of(tr("{what} has no 'label' column: pass {target} (columns: {columns})"), what=what,
                                   target=Option("target", "COLUMN", literal=True), columns=some(header)))
    raise DataError(Message.of(tr("{option}: {what} has no such column (columns: {columns})"),
                               option=Option("target", target), what=what, columns=some(header)))


def _pixel_images(features: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, list[str]] | None:
    """((N, 1, s, s) uint8, pixel column names in order) when the features are s*s pixel<N> columns."""
    matches = [_PIXEL.fullmatch(name) for name, _ in features]
    side = math.isqrt(len(features))
    if not all(matches) or side * side != len(features) or any(c.dtype.kind != "f" for _, c in features):
        return None
    order = np.argsort([int(m.group(1)) for m in matches], kind="stable")
    pixels = np.stack([features[i][1] for i in order], axis=1)
    if np.isnan(pixels).any() or (pixels < 0).any() or (pixels > 255).any() or (pixels != np.round(pixels)).any():
        return None
    return pixels.astype(np.uint8).reshape(-1, 1, side, side), [features[i][0] for i in order]


def describe_columns(what: str, features: list[tuple[str, np.ndarray]], train: np.ndarray) -> list[dict[str, Any]]:
    """Column specs (preprocess/tables.py) from the training rows: number fills, categories, date parts."""
    specs, too_many = [], []
    for name, col in features:
        if col.dtype.kind == "f":
            rows = col[train]
            known = rows[~np.isnan(rows)]
            specs.append({"name": name, "type": "number", "fill": float(known.mean()) if known.size else 0.0})
            continue
        date = preprocess.date_column(col[train])
        if date is not None:
            parts = preprocess.date_parts(col[train], date["parts"])
            fill = [float(np.nanmean(parts[:, j])) if np.isfinite(parts[:, j]).any() else 0.0
                    for j in range(parts.shape[1])]
            specs.append({"name": name, **date, "fill": fill})
            continue
        categories = sorted({text.strip() for text in distinct(col[train])[1]})
        if len(categories) > MAX_CATEGORIES:
            too_many.append((name, len(categories)))
            continue
        specs.append({"name": name, "type": "category", "values": categories})
    if too_many:
        names = ", ".join(tr("{column!r} ({count} values)").format(column=n, count=k) for n, k in too_many)
        message = trn("{what}: text column {names} has more than {limit} distinct values to one-hot encode: "
                      "leave it out with {drop}, or train a text model (lstm, transformer) on one with {text}",
                      "{what}: text columns {names} have more than {limit} distinct values to one-hot encode: "
                      "leave them out with {drop}, or train a text model (lstm, transformer) on one with {text}",
                      len(too_many))
        raise DataError(Message.of(message, what=what, names=names, limit=MAX_CATEGORIES,
                                   drop=Option("drop", ",".join(n for n, _ in too_many)),
                                   text=Option("text", too_many[0][0])))
    return specs


def standardised_features(specs: list[dict[str, Any]], values: dict[str, Any], kept: np.ndarray,
                          held: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """(x_train, x_test, mean, std): the encoded features, standardised with the training rows' mean
    and std, as float32. Built a few columns at a time, straight into the two outputs: the whole
    float64 matrix and its split copies never exist (a million-row table would hold them three times)."""
    features = sum(preprocess.width(spec) for spec in specs)
    x_train = np.empty((len(kept), features), dtype=np.float32)
    x_test = None if held is None else np.empty((len(held), features), dtype=np.float32)
    mean, std = np.empty(features), np.empty(features)
    group: list[np.ndarray] = []
    done = 0
    for spec in specs:
        for column in preprocess.feature_columns(spec, values[spec["name"]]):
            group.append(column)
            if len(group) == GROUP or done + len(group) == features:
                ours = slice(done, done + len(group))
                mean[ours], std[ours] = _standardise(group, kept, x_train[:, ours], pairwise=features == 1)
                if x_test is not None:
                    np.divide(_rows(group, held, 1) - mean[ours], std[ours], out=x_test[:, ours])
                done += len(group)
                group = []
    return x_train, x_test, mean, std


GROUP = 8  # features standardised together: (rows, 8) float64 at a time, summed fast enough by numpy


def _standardise(group: list[np.ndarray], kept: np.ndarray, out: np.ndarray, *, pairwise: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Write the group's training rows, standardised, into `out`; return their mean and std.

    The arithmetic is numpy's mean and std over an (N, F) matrix, which the code before ran on the
    whole feature matrix: a column of it is summed row after row, but an (N, 1) one pairwise, so a
    lone column of a wider table is paired with itself. Every feature is thus summed as before, and
    the tensors (and the data fingerprint a checkpoint keeps for --resume) stay the same bit for bit."""
    rows = _rows(group, kept, 1 if pairwise else 2)
    mean = np.add.reduce(rows, axis=0) / len(rows)
    rows -= mean  # the deviations, as numpy's std takes them
    std = np.sqrt(np.add.reduce(rows * rows, axis=0) / len(rows))
    std[std == 0] = 1.0  # a constant feature stays 0 instead of becoming NaN
    n = len(group)
    np.divide(rows[:, :n], std[:n], out=out)
    return mean[:n], std[:n]


def _rows(group: list[np.ndarray], rows: np.ndarray, at_least: int) -> np.ndarray:
    """The group's columns at these rows, as an (len(rows), max(len(group), at_least)) float64 matrix."""
    columns = group if len(group) >= at_least else group * at_least
    out = np.empty((len(rows), len(columns)))
    for i, column in enumerate(columns):
        out[:, i] = column[rows]
    return out
