"""Reading a table into columns: a CSV (or .tsv) file, or a pandas DataFrame.

The encoding is UTF-8 (a BOM is skipped), else GBK/GB18030 (Excel's exports on a Chinese Windows),
else Windows-1252; the delimiter is sniffed among `,` `;` tab `|` (the one that splits the first
rows into the same number of fields). With `;` or tab, decimal commas (`1,5`) are numbers. Each
column comes back as float64 (NaN where missing) when every value is a number, else as str.

Both training (data/table.py) and prediction (preprocess.py) read tables here, and nothing here
knows either of them: a reader at the bottom of the house.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError

# what a table's cell says when it holds nothing (compared lower-cased, stripped)
MISSING = {"", "na", "nan", "null", "none", "?", "n/a", "nat", "<na>"}
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1 << 20
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")


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


def is_frame(x: Any) -> bool:
    """A pandas DataFrame (told without importing pandas)."""
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "columns") and hasattr(x, "iloc")
