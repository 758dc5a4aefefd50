"""Your own table: a CSV (or .tsv) file, or a pandas DataFrame; one label column, one example per row.

- Reading a file: the encoding is UTF-8 (a BOM is skipped), else GBK/GB18030 (Excel's exports on a
  Chinese Windows), else Windows-1252; the delimiter is sniffed among `,` `;` tab `|` (the one that
  splits the first rows into the same number of fields). With `;` or tab, decimal commas (`1,5`) are
  numbers.
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
What was done is kept in `Dataset.preprocessing` (train/preprocess.py), so `predict` takes raw rows.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import DataError
from .. import preprocess
from ..preprocess import MISSING
from .arrays import encode_labels, image_dataset, tabular_dataset, text_arrays, text_dataset, warn_sparse_classes
from .dataset import Dataset
from .split import TEST_FRACTION, TEST_SEED, check_fraction, stratified_indices

MAX_CATEGORIES = 50  # text columns with more distinct values are refused, not one-hot encoded
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1 << 20
_PIXEL = re.compile(r"pixel(\d+)", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")


def load_csv(path: Path, *, target: str | None = None, drop: Sequence[str] | str | None = None,
             text: str | None = None, test_split: float = TEST_FRACTION) -> Dataset:
    test_split = check_fraction("test_split", test_split)
    header, columns = read_table(path)
    return table_dataset(header, columns, target=target, drop=drop, text=text, test_split=test_split,
                         name=path.stem, source=str(path), what=path.name)


# --- reading ----------------------------------------------------------------------------------

def sniff(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a delimited text file."""
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err}") from err
    if len(head) == SNIFF_BYTES and b"\n" in head:  # do not judge a character cut in half
        head = head[:head.rindex(b"\n") + 1]
    encoding = _encoding(head)
    sample = head.decode(encoding, errors="replace")
    preferred = "\t" if path.suffix.lower() == ".tsv" else ","
    return encoding, _delimiter(sample, preferred)


def _encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("gb18030")
        # Chinese text in GBK is mostly GB2312 pairs, both bytes in A1..FE; Western text in cp1252
        # has single accented bytes next to ASCII, which GB18030 may also decode (as nonsense).
        leads = pairs = 0
        i = 0
        while i < len(head):
            if head[i] >= 0x81:
                leads += 1
                if i + 1 < len(head) and 0xA1 <= head[i] <= 0xFE and 0xA1 <= head[i + 1] <= 0xFE:
                    pairs += 1
                i += 2
            else:
                i += 1
        if leads and pairs >= 0.8 * leads:
            return "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _delimiter(sample: str, preferred: str) -> str:
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    text = "\n".join(lines)
    best, best_width = preferred, 1
    for delimiter in (preferred, *[d for d in DELIMITERS if d != preferred]):
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
        except csv.Error:
            continue
        if widths and widths[0] > best_width and all(w == widths[0] for w in widths[:-1]):
            best, best_width = delimiter, widths[0]
    return best


def read_table(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """(header, one array per column): float64 (NaN where missing) if every value is a number, else str."""
    encoding, delimiter = sniff(path)
    header = _header(path, delimiter, encoding)
    return header, _read_columns(path, delimiter, encoding, header)


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    try:
        with open(path, newline="", encoding=encoding) as f:
            header = next(csv.reader(f, delimiter=delimiter), None)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"Cannot read {path}: {err}") from err
    if not header:
        raise DataError(f"{path} is empty: a CSV needs a header row and one row per example")
    return [h.strip() for h in header]


def _read_columns(path: Path, delimiter: str, encoding: str, header: list[str]) -> list[np.ndarray]:
    columns = None
    # All-numeric files (the big ones, like 42,000 x 785 pixels) parse fast in C; whole numbers
    # parse 8x faster than floats, and a float in the first row makes the integer try fail at once.
    for dtype in (np.int64, np.float64):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "empty input file" for a header-only CSV
                data = np.loadtxt(path, delimiter=delimiter, skiprows=1, dtype=dtype, ndmin=2,
                                  comments=None, encoding=encoding)
        except (ValueError, UnicodeDecodeError):
            continue
        if data.shape[1] == len(header) or not data.size:
            columns = list(data.astype(np.float64).T) if data.size else []  # views of one matrix
        break
    if columns is None:
        columns = _read_text_columns(path, delimiter, encoding, header)
    if not columns or not len(columns[0]):
        raise DataError(f"{path.name} has a header but no rows")
    return columns


def _read_text_columns(path: Path, delimiter: str, encoding: str, header: list[str]) -> list[np.ndarray]:
    try:
        with open(path, newline="", encoding=encoding) as f:
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
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"Cannot read {path.name}: {err} (save it as UTF-8)") from err
    comma = delimiter != ","
    return [_column([row[i] for row in rows], decimal_comma=comma) for i in range(len(header))] if rows else []


def _column(values: list[str], *, decimal_comma: bool = False) -> np.ndarray:
    numbers = np.empty(len(values))
    for i, v in enumerate(values):
        if v.lower() in MISSING:
            numbers[i] = np.nan
            continue
        try:
            numbers[i] = float(v)
        except ValueError:
            if decimal_comma and _DECIMAL_COMMA.fullmatch(v):
                numbers[i] = float(v.replace(",", "."))
                continue
            return np.array(values, dtype=object)
        if not math.isfinite(numbers[i]):
            numbers[i] = np.nan
    return numbers


def frame_columns(frame: Any) -> tuple[list[str], list[np.ndarray]]:
    """A pandas DataFrame's columns as the CSV reader gives them: float64 with NaN, or str."""
    header, columns = [], []
    for name in frame.columns:
        series = frame[name]
        kind = getattr(series.dtype, "kind", "O")
        if kind in "iufb":
            values = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)  # a copy
            values[~np.isfinite(values)] = np.nan
        elif kind == "M":  # datetime64: ISO text, read back as a date column
            values = np.array(["" if v is None or str(v) == "NaT" else str(v) for v in series.astype(str)],
                              dtype=object)
        else:
            values = _column(["" if _missing(v) else str(v).strip() for v in series.tolist()])
        header.append(str(name))
        columns.append(values)
    return header, columns


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("NaT", "<NA>", "nan")


# --- columns to a Dataset ---------------------------------------------------------------------

def table_dataset(header: list[str], columns: list[np.ndarray], *, labels: Any = None, target: str | None = None,
                  drop: Sequence[str] | str | None = None, text: str | None = None,
                  test_split: float = TEST_FRACTION, name: str, source: str, what: str) -> Dataset:
    """A Dataset from a table's columns; the label column is `target` (or `label`), or `labels` given."""
    drop = parse_drop(drop)
    for column in drop:
        if column not in header:
            raise DataError(f"drop={column!r}: {what} has no such column (columns: {_some(header)})")
    if labels is None:
        t = _target_index(what, header, target)
        label_name, labels = header[t], columns[t]
        empty = int(np.isnan(labels).sum()) if labels.dtype.kind == "f" else \
            sum(str(v).lower() in MISSING for v in labels)
        if empty:
            raise DataError(f"{what}: the label column {label_name!r} is empty in {empty} rows: fill or drop them")
        if label_name in drop:
            raise DataError(f"drop={label_name!r} names the label column: leave it out of drop=")
    else:
        t, label_name = None, None
        if len(labels) != len(columns[0]):
            raise DataError(f"{what} has {len(columns[0])} rows but y has {len(labels)} labels")
    y, _, classes = encode_labels(labels)
    warn_sparse_classes(y, len(classes), f"the target {label_name!r}" if label_name else "y")
    features = [(n, col) for i, (n, col) in enumerate(zip(header, columns)) if i != t and n not in drop]
    if not features:
        raise DataError(f"{what} has no feature columns besides the label {label_name!r}")

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
    matrix = preprocess.encode_columns(specs, dict(features))
    notes = tuple(f"date column {s['name']!r} read as {', '.join(s['parts'])}" for s in specs if s["type"] == "date")
    return tabular_dataset(name, *splits(matrix), classes, source=source, columns=specs, target=label_name,
                           notes=notes)


def parse_drop(drop: Sequence[str] | str | None) -> list[str]:
    if drop is None:
        return []
    items = drop.split(",") if isinstance(drop, str) else list(drop)
    return [str(d).strip() for d in items if str(d).strip()]


def _text_column(features, text, kept, held, y, classes, *, name, source, what) -> Dataset:
    by_name = dict(features)
    if text not in by_name:
        raise DataError(f"text={text!r}: {what} has no such feature column (columns: {_some(list(by_name))})")
    values = ["" if str(v).lower() in MISSING else str(v) for v in by_name[text].tolist()]
    ids_train, ids_test, vocab, _ = text_arrays([values[i] for i in kept],
                                                None if held is None else [values[i] for i in held])
    others = [n for n in by_name if n != text]
    notes = (f"text={text!r}: the other columns ({_some(others, 4)}) are not used",) if others else ()
    return text_dataset(name, ids_train, y[kept], ids_test, None if held is None else y[held], classes, source,
                        vocab_size=len(vocab) + 2, vocab=vocab, column=text, notes=notes)


def _target_index(what: str, header: list[str], target: str | None) -> int:
    wanted = target if target is not None else "label"
    for candidates in ([i for i, h in enumerate(header) if h == wanted],
                       [i for i, h in enumerate(header) if h.lower() == wanted.lower()]):
        if candidates:
            return candidates[0]
    if target is None:
        raise DataError(f"{what} has no 'label' column: pass target=COLUMN (columns: {_some(header)})")
    raise DataError(f"target={target!r}: {what} has no such column (columns: {_some(header)})")


def _some(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")


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
    """Column specs (preprocess.py) from the training rows: number fills, categories, date parts."""
    specs, too_many = [], []
    for name, col in features:
        if col.dtype.kind == "f":
            known = col[train][~np.isnan(col[train])]
            specs.append({"name": name, "type": "number", "fill": float(known.mean()) if known.size else 0.0})
            continue
        date = preprocess.date_column(col[train])
        if date is not None:
            parts = preprocess.date_parts(col[train].tolist(), date["parts"])
            fill = [float(np.nanmean(parts[:, j])) if np.isfinite(parts[:, j]).any() else 0.0
                    for j in range(parts.shape[1])]
            specs.append({"name": name, **date, "fill": fill})
            continue
        categories = sorted({str(v).strip() for v in col[train].tolist()})
        if len(categories) > MAX_CATEGORIES:
            too_many.append((name, len(categories)))
            continue
        specs.append({"name": name, "type": "category", "values": categories})
    if too_many:
        names = ", ".join(f"{n!r} ({k} values)" for n, k in too_many)
        several = len(too_many) > 1
        raise DataError(f"{what}: text column{'s' if several else ''} {names} {'have' if several else 'has'} more "
                        f"than {MAX_CATEGORIES} distinct values to one-hot encode: leave "
                        f"{'them' if several else 'it'} out with drop={','.join(n for n, _ in too_many)!r}, "
                        f"or train a text model (lstm, transformer) on one with text={too_many[0][0]!r}")
    return specs
