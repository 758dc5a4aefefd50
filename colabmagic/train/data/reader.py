"""Reading a table into columns: a CSV (or .tsv) file, or a pandas DataFrame.

The encoding is UTF-8 (a BOM is skipped), else GBK/GB18030 (Excel's exports on a Chinese Windows),
else Windows-1252; the delimiter is sniffed among `,` `;` tab `|` (the one that splits the first
rows into the same number of fields). With another delimiter than `,`, decimal commas (`1,5`) are
numbers. Each column comes back as float64 (NaN where missing) when every value is a number, else
as text: the stripped values as a pandas Categorical (codes into the distinct values, distinct.py).

The parsing is pandas' C reader (`read_csv`): one pass in C, numbers straight into float64 columns.
pandas rather than pyarrow's reader: pandas is the table library users of this package already have
(and Colab ships), its C engine needs nothing more, and it behaves the same wherever it runs; the
pyarrow engine would make the result depend on what else is installed. What pandas decides
differently from us is put right after it, on the columns concerned only (distinct.py): a column
it could not read as numbers (a missing marker, a decimal comma the sample did not show, spaces)
goes through our own rules once per distinct value; `True`/`False` columns, and columns whose
chunks it typed differently, are read again as text, so a value keeps its spelling.

Both training (data/table.py) and prediction (preprocess/) read tables here, and nothing here
knows either of them: a reader at the bottom of the house.
"""

from __future__ import annotations

import contextlib
import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, require
from ...locale import tr
from .distinct import column_of, distinct, looks_like_decimal_comma

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written, as sniffed from its first megabyte."""

    encoding: str
    delimiter: str
    decimal: str  # "," when the sample holds decimal commas (never with the "," delimiter)


def sniff(path: Path) -> Dialect:
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as err:
        raise DataError(tr("Cannot read {path}: {error}").format(path=path, error=err)) from err
    if len(head) == SNIFF_BYTES and b"\n" in head:  # do not judge a character cut in half
        head = head[:head.rindex(b"\n") + 1]
    encoding = _encoding(head)
    rows = _sample_rows(head.decode(encoding, errors="replace"))
    delimiter = _delimiter(rows, "\t" if path.suffix.lower() == ".tsv" else ",")
    comma = delimiter != "," and any(looks_like_decimal_comma(v) for row in rows[delimiter][1:] for v in row)
    return Dialect(encoding, delimiter, "," if comma else ".")


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


def _sample_rows(sample: str) -> dict[str, list[list[str]]]:
    """The sample's first 50 lines split by each delimiter (none where csv refuses them)."""
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    text = "\n".join(lines)
    rows = {}
    for delimiter in DELIMITERS:
        try:
            rows[delimiter] = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
        except csv.Error:
            rows[delimiter] = []
    return rows


def _delimiter(rows: dict[str, list[list[str]]], preferred: str) -> str:
    best, best_width = preferred, 1
    for delimiter in (preferred, *[d for d in DELIMITERS if d != preferred]):
        widths = [len(row) for row in rows[delimiter]]
        if widths and widths[0] > best_width and all(w == widths[0] for w in widths[:-1]):
            best, best_width = delimiter, widths[0]
    return best


def read_table(path: Path) -> tuple[list[str], list[Any]]:
    """(header, one column each): a float64 array (NaN where missing) if every value is a number,
    else the stripped texts as a pandas Categorical (distinct.text_column)."""
    dialect = sniff(path)
    header = _header(path, dialect)
    frame = _frame(path, dialect, header)
    cells = [_cells(frame.iloc[:, i]) for i in range(len(header))]
    del frame  # the number columns are views of its one float block; the rest is let go
    if isinstance(cells[-1], tuple) and "" in cells[-1][1]:
        # pandas fills a row's missing last fields with "": a row shorter than the header leaves
        # one in the last column (where a real empty cell can be too, so the file is checked then)
        _check_field_counts(path, dialect, header)
    blank = _blank_rows(cells)
    comma = dialect.delimiter != ","
    columns = [c if isinstance(c, np.ndarray) else column_of(*c, decimal_comma=comma) for c in cells]
    if blank is not None:
        columns = [c[~blank] for c in columns]
    if not columns or not len(columns[0]):
        raise DataError(tr("{file} has a header but no rows").format(file=path.name))
    return header, columns


def _header(path: Path, dialect: Dialect) -> list[str]:
    try:
        with open(path, newline="", encoding=dialect.encoding) as f:
            header = next(csv.reader(f, delimiter=dialect.delimiter), None)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(tr("Cannot read {path}: {error}").format(path=path, error=err)) from err
    if not header:
        raise DataError(tr("{path} is empty: a CSV needs a header row and one row per example").format(path=path))
    return [h.strip() for h in header]


def _frame(path: Path, dialect: Dialect, header: list[str]):
    """The file as pandas reads it: columns by position (its names are ours, duplicates and all)."""
    pd = require("pandas", "train")
    options = dict(sep=dialect.delimiter, encoding=dialect.encoding, decimal=dialect.decimal, header=0,
                   index_col=False, keep_default_na=False, engine="c")  # missing markers are ours to read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)   # mixed chunks: read again as text below
        warnings.simplefilter("error", pd.errors.ParserWarning)   # a first row longer than the header
        try:
            with _one_thread(pd):
                frame = pd.read_csv(path, **options)
            retyped = [i for i in range(frame.shape[1]) if _needs_text(frame.iloc[:, i])]
            if retyped:
                again = pd.read_csv(path, usecols=retyped, dtype=str, **options)
                for position, i in enumerate(retyped):
                    frame.isetitem(i, again.iloc[:, position])
        except UnicodeDecodeError as err:
            raise DataError(tr("Cannot read {file}: {error} (save it as UTF-8)").format(
                file=path.name, error=err)) from err
        except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
            _check_field_counts(path, dialect, header)
            raise DataError(tr("Cannot read {path}: {error}").format(
                path=path.name, error=" ".join(str(err).split()))) from err  # one line
    if frame.shape[1] != len(header):
        _check_field_counts(path, dialect, header)
        raise DataError(tr("Cannot read {file}: its header has {header} fields but its rows {rows}").format(
            file=path.name, header=len(header), rows=frame.shape[1]))
    return frame


def _one_thread(pd):
    """pandas 3.1 parses a big file in threads, then joins their pieces: the pieces and the whole
    are held at once (a 1,000,000 x 32 table: 794 MiB peak against 552 MiB read in one thread),
    and on a busy machine (the 2-core kind %train runs on) the threads save nothing (3.5-6.0 s
    against 3.2-3.7 s, measured side by side). Older pandas reads in one thread anyway."""
    try:
        pd.get_option("mode.max_threads")
    except (KeyError, pd.errors.OptionError):
        return contextlib.nullcontext()
    return pd.option_context("mode.max_threads", 1)


def _needs_text(series) -> bool:
    """True/False columns (pandas makes bools of them) and mixed ones (ints in one chunk, words in
    another): read as text, each value as the file spells it."""
    kind = series.dtype.kind
    if kind == "b":
        return True
    if kind != "O":
        return False
    from pandas.api.types import infer_dtype

    return infer_dtype(series, skipna=False) != "string"


def _check_field_counts(path: Path, dialect: Dialect, header: list[str]) -> None:
    """The first row whose field count is not the header's, in one line (csv's line numbers)."""
    try:
        with open(path, newline="", encoding=dialect.encoding) as f:
            reader = csv.reader(f, delimiter=dialect.delimiter)
            next(reader)
            for row in reader:
                if row and any(v.strip() for v in row) and len(row) != len(header):
                    raise DataError(tr("{file} line {line} has {fields} fields but the header has {header}").format(
                        file=path.name, line=reader.line_num, fields=len(row), header=len(header)))
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(tr("Cannot read {file}: {error} (save it as UTF-8)").format(file=path.name, error=err)) from err


def _cells(series) -> np.ndarray | tuple[np.ndarray, list[str]]:
    """A column pandas read as numbers (a float64 view of its block; ints are copied), else its
    cells told apart (distinct), for our rules to read."""
    if series.dtype.kind in "iuf":
        values = series.to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        return values if finite.all() else np.where(finite, values, np.nan)
    return distinct(series.to_numpy(dtype=object))


def _blank_rows(cells: list[np.ndarray | tuple[np.ndarray, list[str]]]) -> np.ndarray | None:
    """Where every field of a row is blank (`,,,`): such rows are left out. A column pandas read as
    numbers has no blank field, so one of them settles it."""
    blank = None
    for column in cells:
        if isinstance(column, np.ndarray):
            return None
        codes, texts = column
        empty = np.array([not t.strip() for t in texts], dtype=bool)[codes] if texts else np.zeros(0, dtype=bool)
        blank = empty if blank is None else blank & empty
        if not blank.any():
            return None
    return blank


def frame_columns(frame: Any) -> tuple[list[str], list[np.ndarray]]:
    """A pandas DataFrame's columns as the CSV reader gives them: float64 with NaN, or text."""
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
        else:  # None, NaN, pd.NA, NaT and the words "nan", "NaT", "<NA>" are blank (the word "None" is not)
            cells = series.to_numpy(dtype=object, copy=True)
            cells[series.isna().to_numpy()] = ""
            codes, texts = distinct(cells)
            values = column_of(codes, ["" if t in ("NaT", "<NA>", "nan") else t for t in texts])
        header.append(str(name))
        columns.append(values)
    return header, columns


def is_frame(x: Any) -> bool:
    """A pandas DataFrame (told without importing pandas)."""
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "columns") and hasattr(x, "iloc")
