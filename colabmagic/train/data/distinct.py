"""A column's distinct values: text is looked at once per distinct value, never once per cell.

A million-row column of four words holds four strings to strip, test for "missing", parse as a
number or as a date; the codes (pandas' hash-based `factorize`, in C) spread the answers over the
rows with one numpy take. Reading a table (reader.py), describing its columns (table.py) and
encoding them again for `predict` (preprocess/) all work through here, so they agree cell for cell.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np

from ...errors import DataError, require
from ...locale import tr

# what a table's cell says when it holds nothing (compared lower-cased, stripped)
MISSING = {"", "na", "nan", "null", "none", "?", "n/a", "nat", "<na>"}
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")


def distinct(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(codes, texts): cell i reads as texts[codes[i]], where a text is the cell's `str()`
    (so None is 'None'); texts come in the order they first appear."""
    pd = require("pandas", "train")
    if isinstance(values, pd.Categorical) and not (values.codes < 0).any():
        return _used(values)
    cells = values if isinstance(values, np.ndarray) else np.array(list(values), dtype=object)
    if cells.dtype.kind == "U":
        cells = cells.astype(object)  # str objects, made in C
    if not len(cells):
        return np.zeros(0, dtype=np.intp), []
    if cells.dtype != object or pd.api.types.infer_dtype(cells, skipna=False) != "string":
        # numbers, None, NaN: read as str() words them (1 and 1.0 and True must stay apart,
        # which hashing them together would not do)
        cells = np.array([str(v) for v in cells.tolist()], dtype=object)
    codes, uniques = pd.factorize(cells, use_na_sentinel=False)
    return codes, list(uniques)


def _used(column) -> tuple[np.ndarray, list[str]]:
    """A text column's codes and texts, without the texts only other rows had (a training slice)."""
    codes, texts = column.codes, column.categories.tolist()
    counts = np.bincount(codes, minlength=len(texts)) if len(codes) else np.zeros(len(texts), dtype=np.intp)
    used = np.flatnonzero(counts)
    if len(used) == len(texts):
        return codes, texts
    renumber = np.zeros(len(texts), dtype=np.intp)
    renumber[used] = np.arange(len(used))
    return renumber[codes], [texts[i] for i in used]


def text_column(codes: np.ndarray, texts: list[str]):
    """A text column kept as codes into its distinct texts (a pandas Categorical): slicing it moves
    small integers, and reading it again (distinct) costs nothing."""
    pd = require("pandas", "train")
    inner, uniques = pd.factorize(np.array(texts, dtype=object), use_na_sentinel=False)  # " a" and "a" stripped
    return pd.Categorical.from_codes(inner[codes] if len(texts) else np.zeros(0, dtype=np.intp),
                                     categories=pd.Index(uniques, dtype=object))


def per_value(values: Sequence[Any] | np.ndarray, answer: Callable[[str], Any], dtype: Any) -> np.ndarray:
    """answer(text) for every cell, computed once per distinct text."""
    codes, texts = distinct(values)
    table = np.array([answer(t) for t in texts], dtype=dtype)
    return table[codes] if len(texts) else np.zeros((0, *table.shape[1:]), dtype=dtype)


def is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def missing(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """True where a cell holds nothing (empty, NA, NaN, null, None, ?, n/a, NaT, <NA>)."""
    return per_value(values, is_missing, bool)


def column_of(codes: np.ndarray, texts: list[str], *, decimal_comma: bool = False):
    """The cells distinct() told apart, read by our rules: float64 (NaN where missing or infinite)
    when every one is a number or missing, else the stripped texts as a text_column. With
    `decimal_comma`, `1,5` is a number too."""
    stripped = [t.strip() for t in texts]
    numbers = _numbers(stripped, decimal_comma)
    if isinstance(numbers, str):
        return text_column(codes, stripped)
    return numbers[codes] if stripped else np.zeros(0)


def _numbers(texts: list[str], decimal_comma: bool) -> np.ndarray | str:
    """The stripped TEXTS as float64 (NaN where missing or infinite), or the first one, in order of
    first appearance, that is not a number."""
    out = np.empty(len(texts))
    for i, text in enumerate(texts):
        if text.lower() in MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            if decimal_comma and _DECIMAL_COMMA.fullmatch(text):
                out[i] = float(text.replace(",", "."))
                continue
            return text
    out[~np.isfinite(out)] = np.nan
    return out


def to_numbers(values: np.ndarray, what: str) -> np.ndarray:
    """A column as float64, NaN where missing; DataError naming the column when a cell is not a number.
    A float64 column comes back as it is (not copied)."""
    if values.dtype.kind in "iufb":
        return values.astype(np.float64, copy=False)
    codes, texts = distinct(values)
    out = _numbers([t.strip() for t in texts], decimal_comma=False)
    if isinstance(out, str):  # the first bad text in order of appearance: the first bad row
        raise DataError(tr("column {column!r} was numbers in training but holds {value!r}").format(
            column=what, value=out))
    return out[codes] if len(texts) else np.zeros(0)


def looks_like_decimal_comma(text: str) -> bool:
    return bool(_DECIMAL_COMMA.fullmatch(text.strip()))


def sorted_codes(values) -> tuple[np.ndarray, list[str]]:
    """Text labels as (int64 class per cell, class texts sorted), as np.unique sorts them."""
    codes, texts = distinct(values)
    order = sorted(range(len(texts)), key=texts.__getitem__)
    rank = np.empty(len(texts), dtype=np.int64)
    rank[order] = np.arange(len(texts))
    return (rank[codes] if texts else np.zeros(0, dtype=np.int64)), [texts[i] for i in order]
