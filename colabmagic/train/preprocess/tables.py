"""Table columns: numbers, categories and dates encoded into features, as training encoded them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterator, Sequence

import numpy as np

from ...errors import DataError
from ...locale import tr
from ..data.distinct import MISSING, distinct, per_value, to_numbers
from ..data.reader import is_frame
from .inputs import as_numpy, some, table_columns

DATE_PARTS = ("year", "month", "dayofyear", "weekday")

_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
                   r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?",
                   re.IGNORECASE)


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
        raise DataError(tr("unknown column type {type!r} in the saved preprocessing").format(type=spec["type"]))


def width(spec: dict[str, Any]) -> int:
    """How many features a column spec encodes to."""
    sizes = {"number": 1, "category": len(spec.get("values", ())), "date": len(spec.get("parts", ()))}
    return sizes.get(spec["type"], 0)


def _named(columns: list[dict[str, Any]], values: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in values:
        raise DataError(tr("the input has no column {column!r}, which the model was trained on "
                           "(it needs {columns})").format(column=name, columns=some([c["name"] for c in columns])))
    return values[name]


def table_from(info: dict[str, Any], x: Any) -> np.ndarray:
    """Raw rows (a table, dicts, or numbers) -> the standardised float32 features training made."""
    columns, features = info.get("columns"), info["features"]
    table = table_columns(x)
    if columns is not None and table is not None:
        header, values = table
        matrix = encode_columns(columns, dict(zip(header, values)))
    else:
        a = as_numpy(x.to_numpy() if is_frame(x) else x)
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
